//! `generate systemd --new`: the command line that made a container, turned
//! into the one its unit runs: a fresh container at every start (`run --rm`
//! with a cidfile systemd can find), detached, replacing a leftover of its name,
//! telling systemd once it runs.

use super::GenerateError;

/// What the unit learns from the create command besides its new form.
#[derive(Debug, Default, PartialEq)]
pub struct RunLine {
    /// The unit's ExecStart arguments, escaped for systemd, the executable first.
    pub args: Vec<String>,
    /// Root flags given before the verb (`--root`, `--runroot` …), escaped:
    /// the stop and rm lines need the same store.
    pub root_flags: Vec<String>,
    /// `--restart` as created, if it was given.
    pub restart: Option<String>,
    /// The names `-e NAME` took from the creator's environment.
    pub env_names: Vec<String>,
}

/// Short flags of `run`/`create` that take a value: in a cluster such as
/// `-it` or `-eFOO`, the rest after one of them is its value.
const SHORT_WITH_VALUE: &str = "ehlmpuvwc";

/// Turns `create` (argv as typed, the program first) into the unit's `run`.
/// `positional` is how many words at its end are the image and its command;
/// `pod_id_file` is set when the container is a pod's member in a pod's units.
pub fn run_line(
    create: &[String],
    positional: usize,
    exe: &str,
    pod_id_file: Option<&str>,
) -> Result<RunLine, GenerateError> {
    let verb = create
        .iter()
        .position(|a| a == "run" || a == "create")
        .filter(|&i| i > 0 && positional > 0 && create.len() > i + positional)
        .ok_or_else(|| GenerateError::CreateCommand(create.join(" ")))?;
    let root: Vec<String> = create[1..verb]
        .iter()
        .filter(|a| *a != "container")
        .map(|a| escape(a))
        .collect();
    let flags = &create[verb + 1..create.len() - positional];
    let tail = &create[create.len() - positional..];
    let seen = scan(flags, pod_id_file.is_some());
    let mut args = vec![escape(exe)];
    args.extend(root.iter().cloned());
    args.extend(
        [
            "run",
            "--cidfile=%t/%n.ctr-id",
            "--cgroups=no-conmon",
            "--rm",
        ]
        .map(String::from),
    );
    if let Some(f) = pod_id_file {
        args.extend(["--pod-id-file".to_string(), f.to_string()]);
    }
    if seen.sdnotify.as_deref().is_none_or(|v| v == "ignore") {
        args.push("--sdnotify=conmon".into());
    }
    if !seen.detach {
        args.push("-d".into());
    }
    if seen.named && !seen.replace {
        args.push("--replace".into());
    }
    args.extend(seen.kept.iter().map(|a| escape(a)));
    args.extend(tail.iter().map(|a| escape(a)));
    Ok(RunLine {
        args,
        root_flags: root,
        restart: seen.restart,
        env_names: seen.env_names,
    })
}

/// `generate systemd --new` of a pod: the `pod create` that made it, as the
/// unit's ExecStartPre that makes it afresh, writing the pod's ID and its infra
/// monitor's pid where the unit's other lines and systemd find them.
/// Returns it with the root flags.
pub fn pod_create_line(
    create: &[String],
    exe: &str,
    pid_file: &str,
    id_file: &str,
) -> Result<(Vec<String>, Vec<String>), GenerateError> {
    let verb = (1..create.len())
        .find(|&i| create[i - 1] == "pod" && create[i] == "create")
        .ok_or_else(|| GenerateError::CreateCommand(create.join(" ")))?;
    let root: Vec<String> = create[1..verb - 1].iter().map(|a| escape(a)).collect();
    let mut rest = vec![];
    let (mut named, mut replace, mut policy) = (false, false, false);
    let mut i = verb + 1;
    while i < create.len() {
        let arg = &create[i];
        i += 1;
        let name = arg.split_once('=').map_or(arg.as_str(), |(n, _)| n);
        let inline = arg.contains('=');
        match name {
            "--pod-id-file" | "--infra-conmon-pidfile" => {
                i += usize::from(!inline);
                continue;
            }
            "--replace" if arg.ends_with("=false") => continue,
            "--replace" => replace = true,
            "--name" | "-n" => named = true,
            "--exit-policy" => policy = true,
            _ => {}
        }
        rest.push(escape(arg));
    }
    let mut args = vec![escape(exe)];
    args.extend(root.iter().cloned());
    args.extend(
        [
            "pod",
            "create",
            "--infra-conmon-pidfile",
            pid_file,
            "--pod-id-file",
            id_file,
        ]
        .map(String::from),
    );
    if !policy {
        args.push("--exit-policy=stop".into());
    }
    args.extend(rest);
    if named && !replace {
        args.push("--replace".into());
    }
    Ok((args, root))
}

#[derive(Default)]
struct Seen {
    kept: Vec<String>,
    detach: bool,
    named: bool,
    replace: bool,
    sdnotify: Option<String>,
    restart: Option<String>,
    env_names: Vec<String>,
}

/// Flags the unit sets itself, so the created ones go (with their values).
fn dropped(name: &str, in_pod: bool) -> bool {
    matches!(name, "--rm" | "--cgroups" | "--cidfile" | "--restart")
        || (in_pod && matches!(name, "--pod" | "--pod-id-file" | "--infra-conmon-pidfile"))
}

fn scan(flags: &[String], in_pod: bool) -> Seen {
    let mut s = Seen::default();
    let mut i = 0;
    while i < flags.len() {
        let arg = &flags[i];
        i += 1;
        let (name, inline) = match arg.split_once('=') {
            Some((n, v)) if n.starts_with("--") => (n, Some(v.to_string())),
            _ => (arg.as_str(), None),
        };
        let takes_value = matches!(
            name,
            "--cgroups"
                | "--cidfile"
                | "--restart"
                | "--pod"
                | "--pod-id-file"
                | "--infra-conmon-pidfile"
                | "--name"
                | "--sdnotify"
                | "--env"
                | "-e"
        );
        let value = if takes_value && inline.is_none() {
            i += 1;
            flags.get(i - 1).cloned()
        } else {
            inline.clone()
        };
        let truth = || value.as_deref().is_none_or(|v| v == "true");
        match name {
            "--detach" => s.detach = truth(),
            "--replace" => s.replace = truth(),
            "--name" => s.named = true,
            "--sdnotify" => s.sdnotify = value.clone(),
            "--restart" => s.restart = value.clone(),
            "--env" | "-e" => s.env_names.extend(bare_name(value.as_deref())),
            n if n.starts_with('-') && !n.starts_with("--") => short_cluster(&n[1..], &mut s),
            _ => {}
        }
        // `--detach=false`, `--replace=false` and `--sdnotify=ignore` go: the
        // unit needs the opposite.
        let overridden = (matches!(name, "--detach" | "--replace") && !truth())
            || (name == "--sdnotify" && value.as_deref() == Some("ignore"));
        if dropped(name, in_pod) || overridden {
            continue;
        }
        s.kept.push(arg.clone());
        if takes_value
            && inline.is_none()
            && let Some(v) = &value
        {
            s.kept.push(v.clone());
        }
    }
    s
}

/// `-d`, `-dit`, `-eFOO` …: the letters before a value-taking one are flags.
fn short_cluster(letters: &str, s: &mut Seen) {
    for (at, c) in letters.char_indices() {
        if c == 'd' {
            s.detach = true;
        }
        if c == 'e' {
            s.env_names.extend(bare_name(Some(&letters[at + 1..])));
        }
        if SHORT_WITH_VALUE.contains(c) {
            return;
        }
    }
}

/// `-e NAME` without a value: the variable comes from the caller's environment.
fn bare_name(v: Option<&str>) -> Option<String> {
    v.filter(|v| !v.is_empty() && !v.contains('='))
        .map(String::from)
}

/// An argument as systemd's command-line syntax reads it back: `$` and `%`
/// doubled, and quoted when it holds blanks or quotes.
pub fn escape(arg: &str) -> String {
    let arg = arg.replace('$', "$$").replace('%', "%%");
    // Control characters too: a raw newline would end the unit's line (and
    // let a hostile argument write lines of its own).
    if arg.contains([' ', '"']) || arg.chars().any(char::is_control) {
        let mut q = String::from("\"");
        for c in arg.chars() {
            match c {
                '"' => q.push_str("\\\""),
                '\\' => q.push_str("\\\\"),
                '\n' => q.push_str("\\n"),
                '\t' => q.push_str("\\t"),
                c if c.is_control() => q.push_str(&format!("\\x{:02x}", c as u32)),
                c => q.push(c),
            }
        }
        q.push('"');
        q
    } else {
        arg.replace('\\', "\\\\")
    }
}

/// ExecStart's arguments on lines of their own, as podman lays them out:
/// each flag starts a continued line.
pub fn layout(args: &[String]) -> String {
    let mut out = String::new();
    for (i, a) in args.iter().enumerate() {
        if i > 0 {
            out.push_str(if a.starts_with('-') { " \\\n\t" } else { " " });
        }
        out.push_str(a);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn argv(s: &str) -> Vec<String> {
        s.split(' ').map(String::from).collect()
    }

    #[test]
    fn run_line_sets_what_the_unit_needs_and_keeps_the_rest() {
        let c = argv(
            "berth --root /r run -it --name web -e FOO --env=A=1 --rm --restart always -p 8080:80 img sh -c x",
        );
        let r = run_line(&c, 4, "/usr/bin/berth", None).unwrap();
        assert_eq!(
            r.args.join(" "),
            "/usr/bin/berth --root /r run --cidfile=%t/%n.ctr-id --cgroups=no-conmon --rm \
             --sdnotify=conmon -d --replace -it --name web -e FOO --env=A=1 -p 8080:80 img sh -c x"
        );
        assert_eq!(r.root_flags, ["--root", "/r"]);
        assert_eq!(r.restart.as_deref(), Some("always"));
        assert_eq!(r.env_names, ["FOO"]);
    }

    #[test]
    fn run_line_honours_what_was_set_and_drops_what_it_overrides() {
        let c = argv(
            "berth container create -dt --replace --name=x --sdnotify=ignore --cidfile /f img",
        );
        let r = run_line(&c, 1, "/b", None).unwrap();
        assert_eq!(
            r.args.join(" "),
            "/b run --cidfile=%t/%n.ctr-id --cgroups=no-conmon --rm --sdnotify=conmon -dt --replace --name=x img"
        );
        let c = argv("berth run --detach=false --replace=false --name x --pod p img");
        let r = run_line(&c, 1, "/b", Some("%t/pod-p.pod-id")).unwrap();
        assert_eq!(
            r.args.join(" "),
            "/b run --cidfile=%t/%n.ctr-id --cgroups=no-conmon --rm --pod-id-file %t/pod-p.pod-id \
             --sdnotify=conmon -d --replace --name x img"
        );
    }

    #[test]
    fn pod_create_line_writes_the_files_the_unit_reads() {
        let c =
            argv("berth --root /r pod create --name p --pod-id-file /old -p 80:80 --replace=false");
        let (args, root) = pod_create_line(&c, "/b", "%t/p.pid", "%t/p.pod-id").unwrap();
        assert_eq!(
            args.join(" "),
            "/b --root /r pod create --infra-conmon-pidfile %t/p.pid --pod-id-file %t/p.pod-id \
             --exit-policy=stop --name p -p 80:80 --replace"
        );
        assert_eq!(root, ["--root", "/r"]);
        assert!(pod_create_line(&argv("berth run --pod new:p img"), "/b", "f", "g").is_err());
    }

    #[test]
    fn a_command_not_from_run_or_create_is_refused() {
        assert!(run_line(&argv("berth ps"), 0, "/b", None).is_err());
        assert!(run_line(&argv("berth run"), 1, "/b", None).is_err());
    }

    #[test]
    fn escape_reads_back_as_systemd_splits_words() {
        assert_eq!(escape("plain"), "plain");
        assert_eq!(escape("a b"), "\"a b\"");
        assert_eq!(escape("100%$x"), "100%%$$x");
        assert_eq!(escape("say \"hi\""), "\"say \\\"hi\\\"\"");
        assert_eq!(escape("a\\b"), "a\\\\b");
        assert_eq!(
            escape("X=1\nExecStartPre=/bin/evil"),
            "\"X=1\\nExecStartPre=/bin/evil\""
        );
    }
}
