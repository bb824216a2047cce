use super::*;
use crate::instructions::{CommandLine, Copy};

fn cf(text: &str) -> Containerfile {
    parse(text, "Containerfile").unwrap()
}

fn opts(args: &[(&str, &str)], target: Option<&str>) -> BuildOptions {
    BuildOptions {
        build_args: args
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        target: target.map(String::from),
        target_platform: Platform::parse("linux/arm/v7").unwrap(),
        build_platform: Platform::parse("linux/amd64").unwrap(),
        contexts: Default::default(),
        all_stages: false,
    }
}

/// Expands every stage (empty base environments).
fn expanded(text: &str, args: &[(&str, &str)]) -> Vec<ExpandedStage> {
    let cf = cf(text);
    let o = opts(args, None);
    let g = globals(&cf, &o).unwrap();
    cf.stages
        .iter()
        .map(|s| expand_stage(&cf, s, &g, &o, Vars::default()).unwrap())
        .collect()
}

fn instr(s: &ExpandedStage, i: usize) -> &Instruction {
    &s.instructions[i].instruction
}

#[test]
fn split_into_stages() {
    let c = cf("ARG V=1\nFROM a AS one\nRUN x\nFROM b\nCOPY --from=one / /\n");
    assert_eq!(c.meta_args.len(), 1);
    assert_eq!(c.stages.len(), 2);
    assert_eq!(
        (c.stages[0].name.as_deref(), c.stages[0].line),
        (Some("one"), 2)
    );
    assert_eq!(c.stages[0].instructions.len(), 1);
    assert_eq!((c.stages[1].index, c.stages[1].name.as_deref()), (1, None));
    assert_eq!(c.stages[1].from.image, "b");
}

#[test]
fn split_errors() {
    let e = parse("ARG A\n\nRUN x\nFROM a\n", "Containerfile").unwrap_err();
    assert_eq!(
        e.to_string(),
        "Containerfile:3: RUN before the first FROM: no build stage in current context"
    );
    let e = parse("ARG A\n", "Containerfile").unwrap_err();
    assert_eq!(
        e.to_string(),
        "Containerfile:1: no FROM instruction: nothing to build"
    );
}

/// A stage name given twice is taken, as buildah takes it: a reference means
/// the last stage of that name before it, and so does --target.
#[test]
fn a_name_given_twice_means_the_last_before() {
    let cf = parse(
        "FROM a AS x\nRUN one\nFROM b AS X\nRUN two\nFROM c\nCOPY --from=x /f /f\n",
        "Containerfile",
    )
    .unwrap();
    assert_eq!(cf.stages.len(), 3);
    assert_eq!(source_stage(&cf, &cf.stages[2], "x"), Ok(Some(1)));
    assert_eq!(find_target(&cf, Some("x")).unwrap(), 1);
}

#[test]
fn global_args_only_in_from() {
    let s = expanded(
        "ARG TAG=1.0\nARG IMG=alpine:$TAG\nFROM $IMG\nRUN echo\nLABEL t=\"[$TAG]\"\n",
        &[],
    );
    assert_eq!(s[0].from.image, "alpine:1.0");
    assert_eq!(
        instr(&s[0], 1),
        &Instruction::Label(vec![KeyValue {
            key: "t".into(),
            value: "[]".into(),
            legacy: false
        }])
    );
}

#[test]
fn redeclared_global_takes_its_value() {
    let s = expanded(
        "ARG TAG=1.0\nFROM a\nARG TAG\nWORKDIR /$TAG\nFROM b\nARG TAG=2\nWORKDIR /$TAG\n",
        &[],
    );
    assert_eq!(instr(&s[0], 1), &Instruction::Workdir("/1.0".into()));
    assert_eq!(s[0].args.get("TAG"), Some("1.0"));
    assert_eq!(instr(&s[1], 1), &Instruction::Workdir("/2".into()));
}

#[test]
fn build_args_override_defaults() {
    let text = "ARG TAG=1.0\nFROM a:$TAG\nARG TAG\nARG LOCAL=def\nARG UNDECLARED_USE=$NOPE\nUSER $TAG-$LOCAL\n";
    let s = expanded(text, &[("TAG", "9"), ("LOCAL", "cli"), ("OTHER", "x")]);
    assert_eq!(s[0].from.image, "a:9");
    assert_eq!(instr(&s[0], 3), &Instruction::User("9-cli".into()));
    // A build arg is only visible once declared.
    assert_eq!(s[0].args.get("OTHER"), None);
    // Build args are taken literally, not expanded.
    let s = expanded("FROM a\nARG X\nUSER $X\n", &[("X", "$HOME")]);
    assert_eq!(instr(&s[0], 1), &Instruction::User("$HOME".into()));
}

#[test]
fn arg_defaults_chain_and_env_wins() {
    let text = "FROM a\nARG A=1 B=${A}2\nENV A=env\nARG A=3\nUSER $A-$B\nENV C=$A D=${B}\n";
    let s = expanded(text, &[]);
    assert_eq!(
        instr(&s[0], 0),
        &Instruction::Arg(vec![
            ArgDef {
                name: "A".into(),
                default: Some("1".into())
            },
            ArgDef {
                name: "B".into(),
                default: Some("12".into())
            }
        ])
    );
    // ENV overrides ARG whatever the order.
    assert_eq!(instr(&s[0], 3), &Instruction::User("env-12".into()));
    assert_eq!(s[0].env.get("C"), Some("env"));
    assert_eq!(s[0].env.get("D"), Some("12"));
    assert_eq!(s[0].args.get("A"), Some("3"));
}

#[test]
fn env_values_use_previous_environment() {
    let s = expanded("FROM a\nENV X=hello\nENV X=bye Y=$X\n", &[]);
    assert_eq!(s[0].env.get("X"), Some("bye"));
    assert_eq!(s[0].env.get("Y"), Some("hello"));
}

#[test]
fn base_env_and_scope_api() {
    let c = cf("FROM a\nARG HOME=/arg\nWORKDIR $HOME/src\nRUN make $HOME\n");
    let o = opts(&[("http_proxy", "http://p:3128"), ("SECRET", "s")], None);
    let g = globals(&c, &o).unwrap();
    let base: Vars = [("HOME", "/root"), ("PATH", "/bin")].into_iter().collect();
    let mut scope = Scope::new(&g, &o.build_args, base);
    let out: Vec<Located> = c.stages[0]
        .instructions
        .iter()
        .map(|l| scope.apply(l, "Containerfile").unwrap())
        .collect();
    assert_eq!(out[1].instruction, Instruction::Workdir("/root/src".into()));
    assert_eq!(out[1].line, 3);
    let Instruction::Run(r) = &out[2].instruction else {
        panic!()
    };
    assert_eq!(r.command, CommandLine::Shell("make $HOME".into()));
    assert_eq!(scope.lookup("HOME").as_deref(), Some("/root"));
    let env = scope.run_env();
    assert_eq!(env.get("HOME"), Some("/root"));
    assert_eq!(env.get("http_proxy"), Some("http://p:3128"));
    assert_eq!(env.get("SECRET"), None);
    assert_eq!(env.len(), 3);
}

#[test]
fn predefined_platform_args() {
    let text = "FROM --platform=$BUILDPLATFORM a AS b\nARG TARGETARCH TARGETVARIANT\nRUN x\nWORKDIR /$TARGETARCH/$TARGETVARIANT/$BUILDARCH\n";
    let s = expanded(text, &[]);
    assert_eq!(s[0].from.platform.as_deref(), Some("linux/amd64"));
    assert_eq!(instr(&s[0], 2), &Instruction::Workdir("/arm/v7/".into()));
    let c = cf("FROM a\n");
    let g = globals(&c, &opts(&[("TARGETOS", "windows")], Some("x"))).unwrap();
    assert_eq!(g.get("TARGETOS"), Some("windows"));
    assert_eq!(g.get("TARGETPLATFORM"), Some("linux/arm/v7"));
    assert_eq!(g.get("BUILDOS"), Some("linux"));
    assert_eq!(g.get("TARGETSTAGE"), Some("x"));
    assert_eq!(g.get("HTTP_PROXY"), None);
}

#[test]
fn expanded_kinds() {
    let text = "FROM a\nARG P=8080 D=/data U=app S=INT\nEXPOSE $P\nVOLUME $D\nUSER $U\nSTOPSIGNAL SIG$S\nCOPY --chown=$U:$U src/$U $D/\nCMD echo $P\nONBUILD RUN echo $P\n";
    let s = expanded(text, &[]);
    assert_eq!(instr(&s[0], 1), &Instruction::Expose(vec!["8080".into()]));
    assert_eq!(instr(&s[0], 2), &Instruction::Volume(vec!["/data".into()]));
    assert_eq!(instr(&s[0], 3), &Instruction::User("app".into()));
    assert_eq!(instr(&s[0], 4), &Instruction::StopSignal("SIGINT".into()));
    let Instruction::Copy(Copy { files, chown, .. }) = instr(&s[0], 5) else {
        panic!()
    };
    assert_eq!(chown.as_deref(), Some("app:app"));
    assert_eq!(
        (files.sources[0].as_str(), files.dest.as_str()),
        ("src/app", "/data/")
    );
    assert_eq!(
        instr(&s[0], 6),
        &Instruction::Cmd(CommandLine::Shell("echo $P".into()))
    );
    let Instruction::Onbuild(o) = instr(&s[0], 7) else {
        panic!()
    };
    assert_eq!(o.expression, "RUN echo $P");
}

#[test]
fn expansion_errors_have_lines() {
    let c = cf("FROM a\n\nWORKDIR ${X:?must be set}\n");
    let o = opts(&[], None);
    let g = globals(&c, &o).unwrap();
    let e = expand_stage(&c, &c.stages[0], &g, &o, Vars::default()).unwrap_err();
    assert_eq!(e.to_string(), "Containerfile:3: X: must be set");
    let c = cf("ARG A=${B:?no}\nFROM a\n");
    let e = globals(&c, &o).unwrap_err();
    assert_eq!(e.to_string(), "Containerfile:1: B: no");
}

/// `KW A0=x16` then lines each doubling the one before: 2^40 times 16 bytes
/// by the last, had nothing stopped it.
fn doubling(kw: &str, prefix: &str) -> String {
    let mut text = format!("{prefix}{kw} A0=xxxxxxxxxxxxxxxx\n");
    for i in 0..40 {
        text.push_str(&format!("{kw} A{}=${{A{i}}}${{A{i}}}\n", i + 1));
    }
    text.push_str("LABEL l=${A40}\n");
    text
}

#[test]
fn an_expanded_value_is_at_most_a_mebibyte() {
    let o = opts(&[], None);
    let too_long = "a variable expansion makes a value longer than 1048576 bytes";
    // 16 bytes doubled 16 times is 1 MiB: the 17th doubling (line 19) is
    // refused, in a stage (ARG, ENV) as among the global ARGs.
    for kw in ["ARG", "ENV"] {
        let c = cf(&doubling(kw, "FROM a\n"));
        let g = globals(&c, &o).unwrap();
        let e = expand_stage(&c, &c.stages[0], &g, &o, Vars::default()).unwrap_err();
        assert_eq!(e.to_string(), format!("Containerfile:19: {too_long}"));
    }
    let mut text = doubling("ARG", "");
    text.truncate(text.find("LABEL").unwrap());
    let c = cf(&format!("{text}FROM a\n"));
    let e = globals(&c, &o).unwrap_err();
    assert_eq!(e.to_string(), format!("Containerfile:18: {too_long}"));
    // A pattern replacement that multiplies a value.
    let c = cf(
        "FROM a\nARG A=${NONE:-xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx}\nARG B=$A$A$A$A$A$A$A$A$A$A$A$A$A$A$A$A\nARG C=$B$B$B$B$B$B$B$B$B$B$B$B$B$B$B$B\nARG D=$C$C$C$C$C$C$C$C$C$C$C$C$C$C$C$C\nENV E=${D//?/yyyyyyyyyyyyyyyyyyyy}\n",
    );
    let g = globals(&c, &o).unwrap();
    let e = expand_stage(&c, &c.stages[0], &g, &o, Vars::default()).unwrap_err();
    assert_eq!(e.to_string(), format!("Containerfile:6: {too_long}"));
    // A long value written out in full is its own limit.
    let long = "x".repeat(3 << 20);
    let c = cf(&format!("FROM a\nENV A={long}\nLABEL l=\"$A\"\n"));
    let g = globals(&c, &o).unwrap();
    assert!(expand_stage(&c, &c.stages[0], &g, &o, Vars::default()).is_err());
    let c = cf(&format!("FROM a\nENV A={long}\n"));
    let g = globals(&c, &o).unwrap();
    assert!(expand_stage(&c, &c.stages[0], &g, &o, Vars::default()).is_ok());
}

#[test]
fn a_builds_expansions_are_at_most_64_mebibytes() {
    // A mebibyte copied by each of 100 short lines.
    let mut text = doubling("ARG", "FROM a\n");
    text.truncate(text.find("ARG A17").unwrap());
    for i in 0..100 {
        text.push_str(&format!("LABEL l{i}=$A16\n"));
    }
    let c = cf(&text);
    let o = opts(&[], None);
    let g = globals(&c, &o).unwrap();
    let e = expand_stage(&c, &c.stages[0], &g, &o, Vars::default()).unwrap_err();
    // 2 MiB of ARGs, then 61 LABELs of 1 MiB (lines 19 to 79).
    assert_eq!(
        e.to_string(),
        "Containerfile:80: variable expansions of the build come to more than 67108864 bytes"
    );
    // Stages that each start from the one before, its environment 1 MiB.
    let mut text = doubling("ENV", "FROM a AS s0\n");
    text.truncate(text.find("ENV A17").unwrap());
    for i in 0..100 {
        text.push_str(&format!("FROM s{i} AS s{}\n", i + 1));
    }
    let c = cf(&text);
    let g = globals(&c, &o).unwrap();
    let p = plan(&c, &g, &o).unwrap();
    let e = expand_plan(&c, &p, &g, &o, &|_| Vars::default()).unwrap_err();
    assert!(
        e.to_string()
            .ends_with(": variable expansions of the build come to more than 67108864 bytes"),
        "{e}"
    );
}

const MULTI: &str = "\
FROM golang AS build
RUN go build
FROM alpine AS tools
RUN apk add x
FROM build AS test
RUN --mount=type=bind,from=tools,target=/t go test
FROM scratch AS unrelated
FROM debian
COPY --from=0 /out /bin/
COPY --from=docker.io/library/busybox:latest /bin/sh /bin/
RUN --mount=type=cache,from=cacheimg,target=/c true
";

fn planned(target: Option<&str>) -> Result<Plan, ParseError> {
    let c = cf(MULTI);
    let o = opts(&[], target);
    let g = globals(&c, &o).unwrap();
    plan(&c, &g, &o)
}

#[test]
fn plan_default_target() {
    let p = planned(None).unwrap();
    assert_eq!(p.target, 4);
    assert_eq!(p.order, [0, 4]);
    let refs: Vec<(&str, ImageUse, usize)> = p
        .images
        .iter()
        .map(|r| (r.reference.as_str(), r.usage, r.line))
        .collect();
    assert_eq!(
        refs,
        [
            ("golang", ImageUse::Base, 1),
            ("debian", ImageUse::Base, 8),
            ("docker.io/library/busybox:latest", ImageUse::CopyFrom, 10),
            ("cacheimg", ImageUse::MountFrom, 11),
        ]
    );
}

#[test]
fn a_long_chain_of_stages_plans_without_recursion() {
    // Each stage built FROM the one before: marking what the target needs
    // recursed once per stage.
    let n = 50_000;
    let mut text = String::from("FROM a AS s0\n");
    for i in 0..n {
        text.push_str(&format!("FROM s{i} AS s{}\n", i + 1));
    }
    let c = cf(&text);
    let o = opts(&[], None);
    let g = globals(&c, &o).unwrap();
    let p = plan(&c, &g, &o).unwrap();
    assert_eq!(p.order.len(), n + 1);
}

#[test]
fn plan_named_target() {
    let p = planned(Some("TEST")).unwrap();
    assert_eq!((p.target, p.order.clone()), (2, vec![0, 1, 2]));
    assert_eq!(p.images.len(), 2);
    let p = planned(Some("unrelated")).unwrap();
    assert_eq!(p.order, [3]);
    assert!(p.images.is_empty());
    let e = planned(Some("nope")).unwrap_err();
    assert_eq!(
        e.to_string(),
        "Containerfile: target stage \"nope\" could not be found"
    );
}

#[test]
fn plan_from_with_global_args_and_errors() {
    let text = "ARG BASE=build\nFROM alpine AS build\nFROM $BASE\nCOPY --from=${BASE} / /\n";
    let c = cf(text);
    let o = opts(&[], None);
    let g = globals(&c, &o).unwrap();
    let p = plan(&c, &g, &o).unwrap();
    assert_eq!(p.order, [0, 1]);
    assert_eq!(p.images.len(), 1);
    let bad = |text: &str| {
        let c = cf(text);
        let g = globals(&c, &o).unwrap();
        plan(&c, &g, &o).unwrap_err().to_string()
    };
    assert_eq!(
        bad("FROM a AS x\nCOPY --from=later / /\nFROM b AS later\n"),
        "Containerfile:2: cannot copy from stage \"later\", it needs to be defined before current stage \"x\""
    );
    assert_eq!(
        bad("FROM a\nCOPY --from=0 / /\n"),
        "Containerfile:2: cannot copy from stage 0, it needs to be defined before current stage 0"
    );
    // A stage named like its own base image uses the image.
    let c = cf("FROM node AS node\nRUN x\n");
    let p = plan(&c, &globals(&c, &o).unwrap(), &o).unwrap();
    assert_eq!(p.images[0].reference, "node");
}

#[test]
fn platforms() {
    let p = Platform::parse("linux/arm64").unwrap();
    assert_eq!(
        (p.os.as_str(), p.arch.as_str(), p.variant),
        ("linux", "arm64", None)
    );
    assert_eq!(
        Platform::parse("Linux/ARM/v6").unwrap().format(),
        "linux/arm/v6"
    );
    assert!(Platform::parse("linux").is_err());
    assert!(Platform::parse("linux//v7").is_err());
    assert!(Platform::parse("a/b/c/d").is_err());
    assert_eq!(Platform::host().os, "linux");
}

#[test]
fn vars_replace_in_place() {
    let mut v: Vars = [("A", "1"), ("B", "2")].into_iter().collect();
    v.set("A", "3");
    let all: Vec<_> = v.iter().collect();
    assert_eq!(all, [("A", "3"), ("B", "2")]);
    assert!(!v.is_empty());
}

#[test]
fn expand_plan_chains_environments() {
    let text = "\
ARG VERSION=1.2
FROM golang:${VERSION} AS build
ENV GOPATH=/go OUT=$HOME/out
WORKDIR $GOPATH/src
FROM build AS test
WORKDIR $OUT
FROM alpine AS final
COPY --from=build $HOME/out /usr/bin/
";
    let c = cf(text);
    let o = opts(&[("VERSION", "1.23")], Some("test"));
    let g = globals(&c, &o).unwrap();
    let p = plan(&c, &g, &o).unwrap();
    assert_eq!(p.order, [0, 1]);
    let image_env = |image: &str| -> Vars {
        assert_eq!(image, "golang:1.23");
        [("HOME", "/root"), ("PATH", "/usr/local/go/bin")]
            .into_iter()
            .collect()
    };
    let stages = expand_plan(&c, &p, &g, &o, &image_env).unwrap();
    assert_eq!(stages.len(), 2);
    let (_, build) = &stages[0];
    assert_eq!(build.from.image, "golang:1.23");
    assert_eq!(build.env.get("OUT"), Some("/root/out"));
    assert_eq!(
        build.instructions[1].instruction,
        Instruction::Workdir("/go/src".into())
    );
    let (i, test) = &stages[1];
    assert_eq!(*i, 1);
    assert_eq!(
        test.instructions[0].instruction,
        Instruction::Workdir("/root/out".into())
    );
    assert_eq!(test.env.get("PATH"), Some("/usr/local/go/bin"));
    // The final stage, planned by default, sees no HOME from its alpine base
    // here (the image's environment is what `image_env` says).
    let o = opts(&[], None);
    let p = plan(&c, &g, &o).unwrap();
    assert_eq!(p.order, [0, 2]);
    let stages = expand_plan(&c, &p, &g, &o, &|_| Vars::default()).unwrap();
    let Instruction::Copy(copy) = &stages[1].1.instructions[0].instruction else {
        panic!()
    };
    assert_eq!(copy.files.sources, ["/out"]);
}
