//! Flags as pflag (podman's, buildah's and skopeo's flag parser) reads them,
//! applied to berth's whole command tree once.

/// The command tree with pflag's rules on every flag of every command, and a
/// flag given twice counting once, the last value.
pub(crate) fn command(c: clap::Command) -> clap::Command {
    c.args_override_self(true)
        .mut_args(pflag_arg)
        .mut_subcommands(command)
}

/// buildah's `-D` is `--disable-compression` (`builder push`, `commit`,
/// `bud`/`build`), where berth's global `-D` is `--debug`: under those verbs
/// it is read as buildah's, so that `alias buildah='berth builder'` keeps a
/// script's meaning. Flags' values are skipped by what the command tree says
/// takes one.
pub(crate) fn buildah_short_d(
    mut args: Vec<std::ffi::OsString>,
    cli: &clap::Command,
) -> Vec<std::ffi::OsString> {
    let Some(builder) = cli.find_subcommand("builder") else {
        return args;
    };
    let mut verb: Option<&clap::Command> = None;
    let mut seen_builder = false;
    let mut i = 1;
    while i < args.len() {
        let Some(token) = args[i].to_str().map(str::to_string) else {
            i += 1;
            continue;
        };
        if token == "--" {
            break;
        }
        let here = verb.unwrap_or(if seen_builder { builder } else { cli });
        if token.starts_with('-') && token.len() > 1 {
            if token == "-D" && verb.is_some() {
                args[i] = "--disable-compression".into();
            } else if !token.contains('=')
                && (takes_value(here, &token) || takes_value(cli, &token))
            {
                i += 1;
            }
        } else if !seen_builder {
            if token != "builder" {
                return args;
            }
            seen_builder = true;
        } else if verb.is_none() {
            match builder.find_subcommand(&token) {
                Some(v) if ["push", "commit", "build"].contains(&v.get_name()) => verb = Some(v),
                _ => return args,
            }
        }
        i += 1;
    }
    args
}

/// Whether the flag `token` (`--name` or `-n`, no `=`) of `c` takes a value.
fn takes_value(c: &clap::Command, token: &str) -> bool {
    c.get_arguments().any(|a| {
        let named = match token.strip_prefix("--") {
            Some(long) => a.get_long() == Some(long),
            None => token.len() == 2 && a.get_short() == token.chars().nth(1),
        };
        named && a.get_action().takes_values()
    })
}

/// The subcommands a command line names (`["image", "copy"]`) and the
/// operands after them, read by the command tree: flags and their values
/// skipped. For a command line clap refused, to tell whose rules it follows.
pub(crate) fn verb_path(
    args: &[std::ffi::OsString],
    cli: &clap::Command,
) -> (Vec<String>, Vec<String>) {
    let (mut path, mut operands) = (Vec::new(), Vec::new());
    let mut here = cli;
    let mut tokens = args.iter().skip(1).filter_map(|a| a.to_str());
    while let Some(token) = tokens.next() {
        if token == "--" {
            operands.extend(tokens.map(str::to_string));
            break;
        }
        if token.starts_with('-') && token.len() > 1 {
            if !token.contains('=') && (takes_value(here, token) || takes_value(cli, token)) {
                tokens.next();
            }
        } else if let Some(sub) = here.find_subcommand(token).filter(|_| operands.is_empty()) {
            path.push(sub.get_name().to_string());
            here = sub;
        } else {
            operands.push(token.to_string());
        }
    }
    (path, operands)
}

/// A flag as pflag (podman's, buildah's and skopeo's flag parser) takes it: a
/// boolean alone is true and takes `=true`/`=false` (`--all=false`,
/// `--no-cache=true`), and a flag whose value is optional (`--pull`,
/// `--layers`) takes one only after `=`, so that neither ever takes the next
/// argument (`build --layers .`, `commit -p CTR IMAGE`); a flag that needs a
/// value takes the next argument whatever it starts with (`config --cmd '-c
/// x'`, `--env -X`). Applied here to every flag, once, rather than spelt out on
/// each.
fn pflag_arg(a: clap::Arg) -> clap::Arg {
    use clap::ArgAction;
    if a.is_positional() {
        return a;
    }
    if matches!(a.get_action(), ArgAction::SetTrue) {
        // A default given (`default_value = "true"`) stands; else false.
        let default = match a.get_default_values() {
            [] => clap::builder::OsStr::from("false"),
            [d, ..] => d.clone(),
        };
        return a
            .action(ArgAction::Set)
            .num_args(0..=1)
            .require_equals(true)
            .default_missing_value("true")
            .default_value(default)
            .hide_default_value(true)
            .value_name("BOOL")
            .value_parser(parse_bool);
    }
    let a = if a.get_value_parser().type_id() == std::any::TypeId::of::<bool>() {
        // A boolean that takes its value (`--tls-verify=false`, `--rm=false`)
        // reads it as pflag does, not as clap's true/false only; alone, it
        // takes no next argument (below).
        a.value_parser(parse_bool).value_name("BOOL")
    } else {
        a
    };
    match (a.get_action(), a.get_num_args()) {
        (_, Some(n)) if n.min_values() == 0 && n.max_values() == 1 => a.require_equals(true),
        (ArgAction::Set | ArgAction::Append, None) => a.allow_hyphen_values(true),
        (ArgAction::Set | ArgAction::Append, Some(n))
            if n.min_values() == 1 && n.max_values() == 1 =>
        {
            a.allow_hyphen_values(true)
        }
        _ => a,
    }
}

/// Go's strconv.ParseBool, which pflag's booleans use.
fn parse_bool(s: &str) -> Result<bool, String> {
    match s {
        "1" | "t" | "T" | "true" | "TRUE" | "True" => Ok(true),
        "0" | "f" | "F" | "false" | "FALSE" | "False" => Ok(false),
        _ => Err(format!("strconv.ParseBool: parsing {s:?}: invalid syntax")),
    }
}
