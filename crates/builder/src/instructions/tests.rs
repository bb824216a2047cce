use super::*;
use crate::mount::{MountType, Sharing};
use crate::parser::parse_ast;

fn parse(text: &str) -> Result<Vec<Located>, ParseError> {
    let ast = parse_ast(text, "Containerfile")?;
    parse_instructions(&ast, "Containerfile")
}

/// The instruction on the second line (after a FROM).
fn one(line: &str) -> Instruction {
    parse(&format!("FROM a\n{line}\n"))
        .unwrap()
        .remove(1)
        .instruction
}

/// The error for the instruction on the second line.
fn fail(line: &str) -> String {
    parse(&format!("FROM a\n{line}\n")).unwrap_err().to_string()
}

fn s(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

#[test]
fn from() {
    let i = parse("FROM --platform=$BUILDPLATFORM golang:1.22 AS Build\n").unwrap();
    assert_eq!(
        i[0].instruction,
        Instruction::From(From {
            image: "golang:1.22".into(),
            platform: Some("$BUILDPLATFORM".into()),
            name: Some("build".into()),
        })
    );
    assert_eq!((i[0].line, i[0].end_line), (1, 1));
    let e = parse("FROM a b\n").unwrap_err().to_string();
    assert_eq!(
        e,
        "Containerfile:1: FROM requires either one or three arguments"
    );
    let e = parse("\n\nFROM a AS 1x\n").unwrap_err().to_string();
    assert_eq!(
        e,
        "Containerfile:3: invalid name for build stage: \"1x\", name can't start with a number or contain symbols"
    );
    let e = parse("FROM --plat=x a\n").unwrap_err().to_string();
    assert_eq!(e, "Containerfile:1: unknown flag: --plat");
}

#[test]
fn run_forms() {
    let Instruction::Run(r) = one("RUN echo $HOME && ls") else {
        panic!()
    };
    assert_eq!(r.command, CommandLine::Shell("echo $HOME && ls".into()));
    assert!(r.mounts.is_empty() && r.network.is_none() && r.security.is_none());
    let Instruction::Run(r) = one("RUN [\"ls\", \"-l\"]") else {
        panic!()
    };
    assert_eq!(r.command, CommandLine::Exec(s(&["ls", "-l"])));
    assert_eq!(
        fail("RUN"),
        "Containerfile:2: RUN requires at least one argument"
    );
}

#[test]
fn run_flags() {
    let Instruction::Run(r) = one(
        "RUN --mount=type=cache,target=/c,sharing=private --mount=type=secret,id=t,env=T \\\n  --network=none --security=insecure make",
    ) else {
        panic!()
    };
    let m0 = r.mounts[0].mount.as_ref().unwrap();
    assert_eq!(m0.kind, MountType::Cache);
    assert_eq!(m0.sharing, Some(Sharing::Private));
    assert_eq!(r.mounts[0].spec, "type=cache,target=/c,sharing=private");
    let m1 = r.mounts[1].mount.as_ref().unwrap();
    assert_eq!((m1.kind, m1.env.as_deref()), (MountType::Secret, Some("T")));
    assert_eq!(r.network, Some(Network::None));
    assert_eq!(r.security, Some(Security::Insecure));
    assert_eq!(r.command, CommandLine::Shell("make".into()));
    assert_eq!(
        fail("RUN --network=bridge x"),
        "Containerfile:2: invalid network mode \"bridge\""
    );
    assert_eq!(
        fail("RUN --security=x y"),
        "Containerfile:2: security \"x\" is not valid"
    );
    assert_eq!(
        fail("RUN --mount=type=bogus x"),
        "Containerfile:2: unsupported mount type \"bogus\""
    );
    assert_eq!(
        fail("RUN --device=x y"),
        "Containerfile:2: unknown flag: --device"
    );
}

#[test]
fn run_heredoc() {
    let i = parse("FROM a\nRUN <<EOF\necho hi\nEOF\n").unwrap();
    let Instruction::Run(r) = &i[1].instruction else {
        panic!()
    };
    assert_eq!(r.command, CommandLine::Shell("<<EOF".into()));
    assert_eq!(r.heredocs[0].content, "echo hi\n");
    assert_eq!((i[1].line, i[1].end_line), (2, 4));
}

#[test]
fn cmd_entrypoint_shell() {
    assert_eq!(
        one("CMD [\"a\", \"b\"]"),
        Instruction::Cmd(CommandLine::Exec(s(&["a", "b"])))
    );
    assert_eq!(
        one("CMD a  b"),
        Instruction::Cmd(CommandLine::Shell("a  b".into()))
    );
    assert_eq!(
        one("ENTRYPOINT []"),
        Instruction::Entrypoint(CommandLine::Exec(vec![]))
    );
    assert_eq!(
        one("SHELL [\"pwsh\", \"-c\"]"),
        Instruction::Shell(s(&["pwsh", "-c"]))
    );
    assert_eq!(
        fail("SHELL bash -c"),
        "Containerfile:2: SHELL requires the arguments to be in JSON form"
    );
    assert_eq!(
        fail("SHELL []"),
        "Containerfile:2: SHELL requires at least one argument"
    );
    assert_eq!(fail("CMD --x=1 a"), "Containerfile:2: unknown flag: --x");
}

#[test]
fn label_env_maintainer() {
    let kv = |k: &str, v: &str, legacy| KeyValue {
        key: k.into(),
        value: v.into(),
        legacy,
    };
    assert_eq!(
        one("LABEL a=b \"c d\"=\"e f\""),
        Instruction::Label(vec![kv("a", "b", false), kv("\"c d\"", "\"e f\"", false)])
    );
    assert_eq!(
        one("LABEL k v w"),
        Instruction::Label(vec![kv("k", "v w", true)])
    );
    assert_eq!(
        one("ENV A=1 B=\"two words\""),
        Instruction::Env(vec![kv("A", "1", false), kv("B", "\"two words\"", false)])
    );
    assert_eq!(
        one("ENV PATH /usr/bin:$PATH"),
        Instruction::Env(vec![kv("PATH", "/usr/bin:$PATH", true)])
    );
    assert_eq!(
        fail("ENV =x"),
        "Containerfile:2: ENV names can not be blank"
    );
    assert_eq!(
        fail("LABEL"),
        "Containerfile:2: LABEL requires at least one argument"
    );
    assert_eq!(
        one("MAINTAINER Jo <jo@x>"),
        Instruction::Maintainer("Jo <jo@x>".into())
    );
    assert_eq!(
        fail("MAINTAINER"),
        "Containerfile:2: MAINTAINER requires exactly one argument"
    );
}

#[test]
fn expose() {
    assert_eq!(
        one("EXPOSE 80 53/udp $P"),
        Instruction::Expose(s(&["80", "53/udp", "$P"]))
    );
    assert_eq!(fail("EXPOSE 80/xyz"), "Containerfile:2: invalid proto: xyz");
    assert_eq!(
        fail("EXPOSE http"),
        "Containerfile:2: invalid containerPort: http"
    );
    assert_eq!(
        fail("EXPOSE"),
        "Containerfile:2: EXPOSE requires at least one argument"
    );
    assert_eq!(
        parse_port("8000-8010/UDP").unwrap(),
        PortSpec {
            start: 8000,
            end: 8010,
            proto: "udp".into()
        }
    );
    assert_eq!(parse_port("22").unwrap().proto, "tcp");
    assert!(parse_port("0").is_err());
    assert!(parse_port("70000").is_err());
    assert!(parse_port("9-8").is_err());
}

#[test]
fn copy() {
    let Instruction::Copy(c) = one(
        "COPY --from=build --chown=1:2 --chmod=755 --link --parents --exclude=*.md --exclude=x a b /dst/",
    ) else {
        panic!()
    };
    assert_eq!(c.files.sources, s(&["a", "b"]));
    assert_eq!(c.files.dest, "/dst/");
    assert_eq!(c.from.as_deref(), Some("build"));
    assert_eq!(
        (c.chown.as_deref(), c.chmod.as_deref()),
        (Some("1:2"), Some("755"))
    );
    assert!(c.link && c.parents);
    assert_eq!(c.excludes, s(&["*.md", "x"]));
    let Instruction::Copy(c) = one("COPY [\"a b\", \"/c d/\"]") else {
        panic!()
    };
    assert_eq!(
        (c.files.sources, c.files.dest, c.files.json),
        (s(&["a b"]), "/c d/".into(), true)
    );
    assert_eq!(
        fail("COPY a"),
        "Containerfile:2: COPY requires at least two arguments"
    );
    assert_eq!(
        fail("COPY --keep-git-dir a b"),
        "Containerfile:2: unknown flag: --keep-git-dir"
    );
    assert_eq!(
        fail("COPY --link=no a b"),
        "Containerfile:2: expecting boolean value for flag --link, not: no"
    );
}

#[test]
fn copy_heredocs() {
    let text =
        "FROM a\nCOPY <<one <<-\"two\" plain /dst/\nhello $X\none\n\tindented\n\t\tmore\n\ttwo\n";
    let i = parse(text).unwrap();
    let Instruction::Copy(c) = &i[1].instruction else {
        panic!()
    };
    assert_eq!(c.files.sources, s(&["plain"]));
    assert_eq!(c.files.inline.len(), 2);
    assert_eq!(
        c.files.inline[0],
        InlineSource {
            name: "one".into(),
            content: "hello $X\n".into(),
            expand: true
        }
    );
    assert_eq!(c.files.inline[1].content, "indented\nmore\n");
    assert!(!c.files.inline[1].expand);
    let e = parse("FROM a\nCOPY a <<EOF\nx\nEOF\n")
        .unwrap_err()
        .to_string();
    assert_eq!(
        e,
        "Containerfile:2: COPY cannot accept a heredoc as a destination"
    );
}

#[test]
fn add() {
    let Instruction::Add(a) = one(
        "ADD --keep-git-dir=true --checksum=sha256:abc --unpack=false --link https://x/y.tgz /opt/",
    ) else {
        panic!()
    };
    assert_eq!(a.keep_git_dir, Some(true));
    assert_eq!(a.checksum.as_deref(), Some("sha256:abc"));
    assert_eq!(a.unpack, Some(false));
    assert!(a.link);
    assert_eq!(
        (a.files.sources, a.files.dest),
        (s(&["https://x/y.tgz"]), "/opt/".into())
    );
    let Instruction::Add(a) = one("ADD a b") else {
        panic!()
    };
    assert_eq!((a.keep_git_dir, a.unpack, a.chown), (None, None, None));
    assert_eq!(
        fail("ADD --from=x a b"),
        "Containerfile:2: unknown flag: --from"
    );
    assert_eq!(
        fail("ADD a"),
        "Containerfile:2: ADD requires at least two arguments"
    );
}

#[test]
fn volume_user_workdir_stopsignal() {
    assert_eq!(one("VOLUME /a /b"), Instruction::Volume(s(&["/a", "/b"])));
    assert_eq!(
        one("VOLUME [\"/a\", \"/b c\"]"),
        Instruction::Volume(s(&["/a", "/b c"]))
    );
    assert_eq!(
        fail("VOLUME [\" \"]"),
        "Containerfile:2: VOLUME specified can not be an empty string"
    );
    assert_eq!(
        fail("VOLUME []"),
        "Containerfile:2: VOLUME requires at least one argument"
    );
    assert_eq!(one("USER app:app"), Instruction::User("app:app".into()));
    assert_eq!(
        one("WORKDIR /srv/$X"),
        Instruction::Workdir("/srv/$X".into())
    );
    assert_eq!(
        one("STOPSIGNAL SIGTERM"),
        Instruction::StopSignal("SIGTERM".into())
    );
    assert_eq!(
        fail("USER"),
        "Containerfile:2: USER requires exactly one argument"
    );
    assert_eq!(
        fail("WORKDIR"),
        "Containerfile:2: WORKDIR requires exactly one argument"
    );
}

#[test]
fn arg() {
    let def = |n: &str, d: Option<&str>| ArgDef {
        name: n.into(),
        default: d.map(String::from),
    };
    assert_eq!(
        one("ARG A B=1 C= D=\"x y\""),
        Instruction::Arg(vec![
            def("A", None),
            def("B", Some("1")),
            def("C", Some("")),
            def("D", Some("\"x y\""))
        ])
    );
    assert_eq!(
        fail("ARG =1"),
        "Containerfile:2: ARG names can not be blank"
    );
    assert_eq!(
        fail("ARG"),
        "Containerfile:2: ARG requires at least one argument"
    );
}

#[test]
fn onbuild() {
    let Instruction::Onbuild(o) = one("ONBUILD RUN echo hi") else {
        panic!()
    };
    assert_eq!(o.expression, "RUN echo hi");
    assert!(matches!(*o.trigger, Instruction::Run(_)));
    let i = parse("FROM a\nONBUILD COPY <<EOF /x\nbody\nEOF\n").unwrap();
    let Instruction::Onbuild(o) = &i[1].instruction else {
        panic!()
    };
    assert_eq!(o.expression, "COPY <<EOF /x\nbody\nEOF");
    let Instruction::Copy(c) = &*o.trigger else {
        panic!()
    };
    assert_eq!(c.files.inline[0].content, "body\n");
    assert_eq!(
        fail("ONBUILD ONBUILD RUN x"),
        "Containerfile:2: Chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed"
    );
    // A chain is refused before its length matters: parsed one trigger
    // deep, never recursed into without end.
    assert_eq!(
        fail(&format!("{}RUN x", "ONBUILD ".repeat(100_000))),
        "Containerfile:2: Chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed"
    );
    assert_eq!(
        fail("ONBUILD from x"),
        "Containerfile:2: FROM isn't allowed as an ONBUILD trigger"
    );
    assert_eq!(
        fail("ONBUILD MAINTAINER x"),
        "Containerfile:2: MAINTAINER isn't allowed as an ONBUILD trigger"
    );
    assert_eq!(
        fail("ONBUILD COPY a"),
        "Containerfile:2: COPY requires at least two arguments"
    );
    assert_eq!(
        fail("ONBUILD"),
        "Containerfile:2: ONBUILD requires at least one argument"
    );
}

#[test]
fn healthcheck() {
    assert_eq!(
        one("HEALTHCHECK NONE"),
        Instruction::Healthcheck(Healthcheck::None)
    );
    let Instruction::Healthcheck(Healthcheck::Check(h)) = one(
        "HEALTHCHECK --interval=1m30s --timeout=5s --start-period=0 --start-interval=500ms --retries=3 CMD curl -f http://x/",
    ) else {
        panic!()
    };
    assert_eq!(h.test, s(&["CMD-SHELL", "curl -f http://x/"]));
    assert_eq!(h.interval, Some(Duration::from_secs(90)));
    assert_eq!(h.timeout, Some(Duration::from_secs(5)));
    assert_eq!(h.start_period, None);
    assert_eq!(h.start_interval, Some(Duration::from_millis(500)));
    assert_eq!(h.retries, Some(3));
    let Instruction::Healthcheck(Healthcheck::Check(h)) = one("HEALTHCHECK cmd [\"true\"]") else {
        panic!()
    };
    assert_eq!(
        (h.test, h.interval, h.retries),
        (s(&["CMD", "true"]), None, None)
    );
    let cases = [
        ("HEALTHCHECK NONE x", "HEALTHCHECK NONE takes no arguments"),
        ("HEALTHCHECK CMD", "Missing command after HEALTHCHECK CMD"),
        (
            "HEALTHCHECK RUN x",
            "Unknown type \"RUN\" in HEALTHCHECK (try CMD)",
        ),
        (
            "HEALTHCHECK --interval=1 CMD x",
            "time: missing unit in duration \"1\"",
        ),
        (
            "HEALTHCHECK --timeout=10us CMD x",
            "Interval \"timeout\" cannot be less than 1ms",
        ),
        (
            "HEALTHCHECK --interval=-1s CMD x",
            "Interval \"interval\" cannot be less than 1ms",
        ),
        (
            "HEALTHCHECK --retries=-1 CMD x",
            "--retries cannot be negative (-1)",
        ),
        (
            "HEALTHCHECK --retries=x CMD x",
            "invalid value for --retries: x",
        ),
        ("HEALTHCHECK --every=1s CMD x", "unknown flag: --every"),
        ("HEALTHCHECK", "HEALTHCHECK requires at least one argument"),
    ];
    for (line, msg) in cases {
        assert_eq!(fail(line), format!("Containerfile:2: {msg}"), "{line}");
    }
}

#[test]
fn unknown_instruction_with_line() {
    let e = parse("FROM a\n# c\n\nFORM b\n").unwrap_err();
    assert_eq!(e.to_string(), "Containerfile:4: unknown instruction: FORM");
    assert_eq!(e.line, 4);
}

fn env(name: &str) -> Option<String> {
    match name {
        "X" => Some("ex".into()),
        "P" => Some("80 443/udp".into()),
        "DIR" => Some("/cache".into()),
        _ => None,
    }
}

fn expanded(line: &str) -> Result<Instruction, InstructionError> {
    let x = Expander {
        lookup: &env,
        escape: '\\',
        budget: None,
    };
    one(line).expand(&x)
}

#[test]
fn expansion() {
    let kv = |k: &str, v: &str| KeyValue {
        key: k.into(),
        value: v.into(),
        legacy: false,
    };
    assert_eq!(
        expanded("ENV A=$X B=\"${X} y\" C='$X'").unwrap(),
        Instruction::Env(vec![kv("A", "ex"), kv("B", "ex y"), kv("C", "$X")])
    );
    assert_eq!(
        expanded("LABEL \"k$X\"=v").unwrap(),
        Instruction::Label(vec![kv("kex", "v")])
    );
    assert_eq!(
        expanded("EXPOSE $P").unwrap(),
        Instruction::Expose(s(&["80", "443/udp"]))
    );
    assert_eq!(
        expanded("WORKDIR /a/$X").unwrap(),
        Instruction::Workdir("/a/ex".into())
    );
    assert_eq!(
        expanded("USER ${X:-nobody}").unwrap(),
        Instruction::User("ex".into())
    );
    assert_eq!(
        expanded("VOLUME $X /v").unwrap(),
        Instruction::Volume(s(&["ex", "/v"]))
    );
    assert_eq!(
        expanded("STOPSIGNAL SIG${X:-TERM}")
            .unwrap_err()
            .to_string(),
        "Invalid signal: SIGex"
    );
    assert_eq!(
        expanded("STOPSIGNAL ${Y:-9}").unwrap(),
        Instruction::StopSignal("9".into())
    );
    assert_eq!(
        expanded("CMD echo $X").unwrap(),
        Instruction::Cmd(CommandLine::Shell("echo $X".into()))
    );
    assert_eq!(
        expanded("EXPOSE $X").unwrap_err().to_string(),
        "invalid containerPort: ex"
    );
    assert_eq!(
        expanded("USER ${NOPE:?needed}").unwrap_err().to_string(),
        "NOPE: needed"
    );
}

#[test]
fn expansion_copy_and_run() {
    let Instruction::Copy(c) = expanded("COPY --from=$X --chown=$X a$X /d/$X").unwrap() else {
        panic!()
    };
    // `--from=$STAGE` is expanded (buildah 1.29's, which the issue asks for).
    assert_eq!(c.from.as_deref(), Some("ex"));
    assert_eq!(c.chown.as_deref(), Some("ex"));
    assert_eq!(
        (c.files.sources, c.files.dest),
        (s(&["aex"]), "/d/ex".into())
    );
    let text = "FROM a\nCOPY <<A <<'B' /d\n\"$X\"\nA\n$X\nB\n";
    let i = parse(text).unwrap();
    let x = Expander {
        lookup: &env,
        escape: '\\',
        budget: None,
    };
    let Instruction::Copy(c) = i[1].instruction.expand(&x).unwrap() else {
        panic!()
    };
    assert_eq!(c.files.inline[0].content, "\"ex\"\n");
    assert_eq!(c.files.inline[1].content, "$X\n");
    let Instruction::Run(r) =
        expanded("RUN --mount=type=cache,target=$DIR,uid=${U:-5} make $X").unwrap()
    else {
        panic!()
    };
    let m = r.mounts[0].mount.as_ref().unwrap();
    assert_eq!((m.target.as_deref(), m.uid), (Some("/cache"), Some(5)));
    assert_eq!(r.command, CommandLine::Shell("make $X".into()));
    let Instruction::Run(r) = one("RUN --mount=type=cache,target=$DIR x") else {
        panic!()
    };
    assert_eq!(r.mounts[0].mount, None);
}

#[test]
fn argument_counts() {
    for kw in ["MAINTAINER", "WORKDIR", "USER", "STOPSIGNAL"] {
        let want = format!("Containerfile:2: {kw} requires exactly one argument");
        assert_eq!(fail(kw), want);
    }
    for kw in [
        "ENV",
        "LABEL",
        "ONBUILD",
        "HEALTHCHECK",
        "EXPOSE",
        "VOLUME",
        "ARG",
    ] {
        let want = format!("Containerfile:2: {kw} requires at least one argument");
        assert_eq!(fail(kw), want);
    }
    assert_eq!(
        fail("COPY\t\n\t\tquux \\\n  bar"),
        "Containerfile:2: COPY requires at least two arguments"
    );
    assert_eq!(
        fail("MAINTAINER --boo joe@example.com"),
        "Containerfile:2: unknown flag: --boo"
    );
    assert_eq!(fail("foo bar"), "Containerfile:2: unknown instruction: foo");
}

#[test]
fn healthcheck_shell_words_joined() {
    let node = Node {
        keyword: "HEALTHCHECK".into(),
        flags: vec![],
        args: s(&["CMD", "hello", "world"]),
        json: false,
        sub: None,
        heredocs: vec![],
        original: String::new(),
        start_line: 1,
        end_line: 1,
    };
    let Instruction::Healthcheck(Healthcheck::Check(h)) = instruction(&node).unwrap() else {
        panic!()
    };
    assert_eq!(h.test, s(&["CMD-SHELL", "hello world"]));
}

#[test]
fn stop_signal_and_blank_base() {
    assert_eq!(
        fail("STOPSIGNAL SIGNOPE"),
        "Containerfile:2: Invalid signal: SIGNOPE"
    );
    assert_eq!(one("STOPSIGNAL 9"), Instruction::StopSignal("9".into()));
    let from = |image: &str| {
        Instruction::From(From {
            image: image.into(),
            platform: None,
            name: None,
        })
    };
    let x = Expander {
        lookup: &env,
        escape: '\\',
        budget: None,
    };
    assert_eq!(from("${IMG:-alpine}").expand(&x), Ok(from("alpine")));
    assert_eq!(
        from("$NOPE").expand(&x).unwrap_err().to_string(),
        "base name ($NOPE) should not be blank"
    );
}
