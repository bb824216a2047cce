//! The GPG signing mechanism, through the `gpg` program as containers/image
//! uses gpgme: signatures are whole (not detached) OpenPGP messages wrapping
//! the payload.
//!
//! gpg's machine-readable status lines go to a file of our own, never mixed
//! with its human output, which may quote key user IDs (attacker-chosen text).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::error::{Error, Result};

/// A gpg keyring: the user's (`GNUPGHOME` or `~/.gnupg`) or a private,
/// temporary one holding only the keys a policy trusts.
pub struct Gpg {
    home: Option<PathBuf>,
    /// Keeps the temporary home alive; its agent is stopped on drop.
    _temp: Option<TempHome>,
}

/// What a valid signature yielded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Verified {
    /// The signed content (still untrusted JSON until parsed).
    pub payload: Vec<u8>,
    /// Fingerprint of the key that signed (perhaps a subkey).
    pub signer: String,
    /// Fingerprint of that key's primary key.
    pub primary: String,
}

impl Gpg {
    /// The user's own keyring.
    pub fn user() -> Gpg {
        Gpg {
            home: None,
            _temp: None,
        }
    }

    /// A fresh keyring with just these public keys (armored or binary), and the
    /// fingerprints of the primary keys imported.
    pub fn with_keys(keys: &[Vec<u8>]) -> Result<(Gpg, Vec<String>)> {
        let temp = TempHome::new()?;
        let gpg = Gpg {
            home: Some(temp.0.path().to_path_buf()),
            _temp: None,
        };
        let mut fingerprints = Vec::new();
        for key in keys {
            let run = gpg.run(&["--import"], key)?;
            let before = fingerprints.len();
            for line in run.status_lines() {
                if let Some(rest) = line.strip_prefix("IMPORT_OK ")
                    && let Some(fpr) = rest.split_whitespace().nth(1)
                    && !fingerprints.iter().any(|f| f == fpr)
                {
                    fingerprints.push(fpr.to_string());
                }
            }
            if fingerprints.len() == before && !run.ok {
                return Err(Error::Invalid(format!(
                    "importing a GPG key: {}",
                    run.stderr_line()
                )));
            }
        }
        if fingerprints.is_empty() {
            return Err(Error::Invalid(
                "no GPG public key found in the key data".into(),
            ));
        }
        Ok((
            Gpg {
                home: gpg.home,
                _temp: Some(temp),
            },
            fingerprints,
        ))
    }

    /// Signs `payload` with the key of `fingerprint`; `passphrase_file` unlocks it
    /// without a prompt.
    pub fn sign(
        &self,
        payload: &[u8],
        fingerprint: &str,
        passphrase_file: Option<&Path>,
    ) -> Result<Vec<u8>> {
        let mut args = vec!["--sign", "--local-user", fingerprint];
        let pf;
        if let Some(p) = passphrase_file {
            pf = p.to_string_lossy().into_owned();
            args.extend(["--pinentry-mode", "loopback", "--passphrase-file", &pf]);
        }
        let run = self.run(&args, payload)?;
        if !run.ok || run.stdout.is_empty() {
            return Err(Error::Invalid(format!(
                "signing with GPG key {fingerprint}: {}",
                run.stderr_line()
            )));
        }
        Ok(run.stdout)
    }

    /// Fails unless the keyring holds the secret key of `fingerprint`, so that a
    /// copy that is to be signed fails before it starts.
    pub fn check_secret_key(&self, fingerprint: &str) -> Result<()> {
        let run = self.run(&["--list-secret-keys", "--with-colons", fingerprint], b"")?;
        if run.ok && !run.stdout.is_empty() {
            Ok(())
        } else {
            Err(Error::Invalid(format!(
                "signing key {fingerprint}: no secret key in the GPG keyring"
            )))
        }
    }

    /// Checks a signature and returns what it signs and who signed it. Exactly
    /// one good signature by a valid (unexpired, unrevoked) key is accepted.
    pub fn verify(&self, signature: &[u8]) -> Result<Verified> {
        let run = self.run(&["--decrypt"], signature)?;
        let bad = |why: String| Error::Invalid(format!("Invalid GPG signature: {why}"));
        if let Some(key) = run
            .status_lines()
            .find_map(|l| l.strip_prefix("NO_PUBKEY "))
        {
            return Err(bad(format!(
                "signed by key {}, which is not trusted (not among the policy's keys)",
                key.trim()
            )));
        }
        let mut sigs = 0;
        let mut valid = None;
        for line in run.status_lines() {
            let mut words = line.split_whitespace();
            match words.next() {
                Some("NEWSIG") => sigs += 1,
                Some(
                    w @ ("BADSIG" | "ERRSIG" | "EXPSIG" | "EXPKEYSIG" | "REVKEYSIG" | "NO_PUBKEY"
                    | "DECRYPTION_FAILED" | "FAILURE"),
                ) => {
                    return Err(bad(format!("gpg reports {w}: {}", run.stderr_line())));
                }
                Some("VALIDSIG") => {
                    let w: Vec<&str> = words.collect();
                    let signer = w.first().copied().unwrap_or_default().to_string();
                    let primary = w.get(9).copied().unwrap_or(&signer).to_string();
                    valid = Some((signer, primary));
                }
                _ => {}
            }
        }
        if sigs != 1 {
            return Err(bad(format!("expected one signature, found {sigs}")));
        }
        let (signer, primary) = valid
            .filter(|_| run.ok)
            .ok_or_else(|| bad(run.stderr_line()))?;
        Ok(Verified {
            payload: run.stdout,
            signer,
            primary,
        })
    }

    fn run(&self, args: &[&str], input: &[u8]) -> Result<GpgRun> {
        let status = tempfile::NamedTempFile::new().map_err(|e| Error::io("/tmp", e))?;
        let mut cmd = Command::new("gpg");
        cmd.args(["--batch", "--no-tty", "--quiet", "--status-file"])
            .arg(status.path())
            .args(["--output", "-"]);
        if let Some(h) = &self.home {
            cmd.arg("--homedir").arg(h);
        }
        cmd.args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = cmd
            .spawn()
            .map_err(|e| Error::Invalid(format!("running gpg: {e}")))?;
        let mut stdin = child.stdin.take().expect("piped stdin");
        let input = input.to_vec();
        // Feed from a thread so that a large output cannot deadlock the pipes.
        let feeder = std::thread::spawn(move || {
            let _ = stdin.write_all(&input);
        });
        let out = child
            .wait_with_output()
            .map_err(|e| Error::Invalid(format!("running gpg: {e}")))?;
        let _ = feeder.join();
        let status_text = std::fs::read_to_string(status.path()).unwrap_or_default();
        Ok(GpgRun {
            ok: out.status.success(),
            stdout: out.stdout,
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
            status: status_text,
        })
    }
}

struct GpgRun {
    ok: bool,
    stdout: Vec<u8>,
    stderr: String,
    status: String,
}

impl GpgRun {
    fn status_lines(&self) -> impl Iterator<Item = &str> {
        self.status
            .lines()
            .filter_map(|l| l.strip_prefix("[GNUPG:] "))
    }

    /// gpg's complaint, on one line.
    fn stderr_line(&self) -> String {
        let s = self
            .stderr
            .lines()
            .map(|l| l.trim_start_matches("gpg: ").trim())
            .filter(|l| !l.is_empty())
            .collect::<Vec<_>>()
            .join("; ");
        if s.is_empty() { "gpg failed".into() } else { s }
    }
}

/// A temporary GNUPGHOME; a short path, since gpg-agent's socket lives in it.
struct TempHome(tempfile::TempDir);

impl TempHome {
    fn new() -> Result<TempHome> {
        let dir = tempfile::Builder::new()
            .prefix("berth-gpg-")
            .tempdir_in("/tmp")
            .map_err(|e| Error::io("/tmp", e))?;
        // gpg refuses to trust a home others can read.
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o700))
            .map_err(|e| Error::io(dir.path(), e))?;
        Ok(TempHome(dir))
    }
}

impl Drop for TempHome {
    fn drop(&mut self) {
        // Stop any agent or keyboxd started for this home before removing it.
        let _ = Command::new("gpgconf")
            .arg("--homedir")
            .arg(self.0.path())
            .args(["--kill", "all"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }
}
