//! `berth login` / `berth logout`, as podman has them.

use std::io::Read;
use std::path::PathBuf;

use berth_image::auth::{self, Credentials};
use clap::Args;

use crate::exit::{self, CmdResult};

#[derive(Args)]
pub struct LoginArgs {
    /// Username.
    #[arg(short, long)]
    username: Option<String>,
    /// Password (prefer --password-stdin).
    #[arg(short, long)]
    password: Option<String>,
    /// Read the password from standard input.
    #[arg(long)]
    password_stdin: bool,
    /// Print the username stored for the registry.
    #[arg(long)]
    get_login: bool,
    /// Authentication file.
    #[arg(long, env = "REGISTRY_AUTH_FILE")]
    authfile: Option<PathBuf>,
    #[arg(long, num_args = 0..=1, default_missing_value = "true", require_equals = true)]
    tls_verify: Option<bool>,
    #[arg(long)]
    cert_dir: Option<PathBuf>,
    /// Also say which auth file was written.
    #[arg(short, long)]
    verbose: bool,
    /// REGISTRY[/REPOSITORY]
    registry: String,
}

#[derive(Args)]
pub struct LogoutArgs {
    /// Remove the credentials of every registry.
    #[arg(short, long)]
    all: bool,
    #[arg(long, env = "REGISTRY_AUTH_FILE")]
    authfile: Option<PathBuf>,
    /// Taken for skopeo's scripts; logging out reaches no registry.
    #[arg(long, num_args = 0..=1, default_missing_value = "true", require_equals = true)]
    tls_verify: Option<bool>,
    /// REGISTRY[/REPOSITORY]
    registry: Option<String>,
}

pub fn login(a: LoginArgs) -> CmdResult {
    let key = auth::login_key(&a.registry);
    let file = a.authfile.clone().unwrap_or_else(auth::default_auth_file);
    let probe = berth_image::Reference::parse(&format!("{key}/x"))
        .or_else(|_| berth_image::Reference::parse(&key));
    if a.get_login {
        let r = probe.map_err(exit::podman)?;
        return match auth::lookup(&r, Some(&file)).map_err(exit::podman)? {
            Some(c) => {
                println!("{}", c.username);
                Ok(())
            }
            None => Err(exit::podman(format!("not logged into {key}"))),
        };
    }
    let mut stored = None;
    if a.username.is_none() && a.password.is_none() && !a.password_stdin {
        let found = probe
            .ok()
            .and_then(|r| auth::lookup(&r, Some(&file)).ok().flatten());
        if let Some(c) = found {
            if already_logged_in(&key, &c, &a) {
                return Ok(());
            }
            stored = Some(c.username);
        }
    }
    let username = match (a.username, stored) {
        (Some(u), _) => u,
        // The stored name is the default, as podman and skopeo offer it.
        (None, Some(u)) => Some(prompt_or(&format!("Username ({u}): "), true)?)
            .filter(|s| !s.is_empty())
            .unwrap_or(u),
        (None, None) => prompt("Username: ")?,
    };
    let password = match (a.password, a.password_stdin) {
        (Some(_), true) => {
            return Err(exit::podman(
                "--password and --password-stdin are mutually exclusive",
            ));
        }
        (Some(p), false) => p,
        (None, true) => {
            let mut s = String::new();
            std::io::stdin()
                .read_to_string(&mut s)
                .map_err(exit::podman)?;
            s.trim_end_matches(['\n', '\r']).to_string()
        }
        (None, false) => prompt("Password: ")?,
    };
    let creds = Credentials { username, password };
    berth_engine::login::check(&key, &creds, a.tls_verify, a.cert_dir.as_deref())
        .map_err(exit::podman)?;
    auth::store(&file, &key, &creds).map_err(exit::podman)?;
    if a.verbose {
        println!("Used: {}", file.display());
    }
    println!("Login Succeeded!");
    Ok(())
}

/// Whether the credentials the auth file has for `key` still work, said as
/// podman and skopeo say it (on stdout); when they do not, the user is asked
/// for new ones.
fn already_logged_in(key: &str, c: &Credentials, a: &LoginArgs) -> bool {
    println!("Authenticating with existing credentials for {key}");
    let valid = berth_engine::login::check(key, c, a.tls_verify, a.cert_dir.as_deref()).is_ok();
    if valid {
        println!("Existing credentials are valid. Already logged in to {key}");
    } else {
        println!("Existing credentials are invalid, please enter valid username and password");
    }
    valid
}

fn prompt(label: &str) -> Result<String, exit::Failure> {
    prompt_or(label, false)
}

/// Reads a line after `label`; an empty one is refused unless `may_be_empty`.
fn prompt_or(label: &str, may_be_empty: bool) -> Result<String, exit::Failure> {
    eprint!("{label}");
    let mut s = String::new();
    std::io::stdin().read_line(&mut s).map_err(exit::podman)?;
    let s = s.trim_end_matches(['\n', '\r']).to_string();
    if s.is_empty() && !may_be_empty {
        return Err(exit::podman(format!(
            "{} must not be empty",
            label.trim_end_matches(": ").to_lowercase()
        )));
    }
    Ok(s)
}

pub fn logout(a: LogoutArgs) -> CmdResult {
    let file = a.authfile.clone().unwrap_or_else(auth::default_auth_file);
    if a.all {
        auth::remove_all(&file).map_err(exit::podman)?;
        println!("Removed login credentials for all registries");
        return Ok(());
    }
    let Some(reg) = a.registry else {
        return Err(exit::podman("logout: a registry or --all is required"));
    };
    let key = auth::login_key(&reg);
    if auth::remove(&file, &key).map_err(exit::podman)? {
        println!("Removed login credentials for {key}");
        Ok(())
    } else {
        Err(exit::podman(format!("not logged into {key}")))
    }
}
