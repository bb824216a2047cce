//! skopeo's global options, which its scripts give before the verb (`skopeo
//! --insecure-policy copy …`): taken by `berth image` and handed to the verb.

use std::path::PathBuf;

use clap::Args;

use crate::commands::image::ImageCommand;
use crate::commands::image::access::PlatformArgs;
use crate::commands::image::trust::TrustArgs;
use crate::exit::{self, Failure};

#[derive(Args, Default)]
pub(crate) struct SkopeoGlobals {
    /// Trust policy file (skopeo's global option; also after copy and sync).
    #[arg(long = "policy", value_name = "FILE")]
    policy: Option<PathBuf>,
    /// Ignore the trust policy and accept any image.
    #[arg(long = "insecure-policy")]
    insecure_policy: bool,
    /// Directory of registries.d files (lookaside signature storage).
    #[arg(long = "registries.d", value_name = "DIR")]
    registries_d: Option<PathBuf>,
    /// Use ARCH instead of the machine's when choosing images.
    #[arg(long = "override-arch", value_name = "ARCH")]
    override_arch: Option<String>,
    /// Use OS instead of the running OS when choosing images.
    #[arg(long = "override-os", value_name = "OS")]
    override_os: Option<String>,
    /// Use VARIANT instead of the machine's when choosing images.
    #[arg(long = "override-variant", value_name = "VARIANT")]
    override_variant: Option<String>,
    /// Where temporary files go.
    #[arg(long, value_name = "DIR")]
    tmpdir: Option<PathBuf>,
    /// Give up on the command after this long (30s, 5m: a Go duration).
    #[arg(long, value_name = "DURATION")]
    command_timeout: Option<String>,
}

impl SkopeoGlobals {
    /// Hands the options to the verb (its own flags win), and starts the
    /// command's timeout.
    pub(crate) fn apply(&self, command: &mut ImageCommand) -> Result<(), Failure> {
        match command {
            ImageCommand::Copy(a) => {
                self.trust(&mut a.trust);
                self.platform(&mut a.platform);
            }
            ImageCommand::Sync(a) => {
                self.trust(&mut a.trust);
                self.platform(&mut a.platform);
            }
            // skopeo takes the policy options before any verb, and these
            // verbs have no use for them.
            ImageCommand::Inspect(a) => self.platform(&mut a.platform),
            ImageCommand::ListTags(a) => self.platform(&mut a.platform),
            ImageCommand::Delete(a) => self.platform(&mut a.platform),
            _ if self.any() => {
                return Err(exit::usage(
                    1,
                    "--policy, --insecure-policy, --registries.d and --override-* are skopeo's, for inspect, copy, sync, list-tags and delete",
                ));
            }
            _ => {}
        }
        if let Some(dir) = &self.tmpdir {
            // SAFETY: set before the verb starts any thread (the process has
            // parsed its arguments and nothing else).
            unsafe { std::env::set_var("TMPDIR", dir) };
        }
        if let Some(t) = &self.command_timeout {
            let nanos = berth_engine::duration::parse_go_duration(t)
                .map_err(|e| exit::usage(1, format!("--command-timeout: {e}")))?;
            // 0 (or less): no deadline, as skopeo's.
            if nanos > 0 {
                let limit = std::time::Duration::from_nanos(nanos as u64);
                // A copy stops itself at the deadline and removes what it
                // was writing; the process ends only if it does not.
                let writes = matches!(command, ImageCommand::Copy(_) | ImageCommand::Sync(_));
                if writes {
                    berth_image::copy::set_deadline(std::time::SystemTime::now() + limit);
                }
                let grace = std::time::Duration::from_secs(if writes { 10 } else { 0 });
                start_deadline(limit + grace, t.clone());
            }
        }
        Ok(())
    }

    fn any(&self) -> bool {
        self.policy.is_some()
            || self.insecure_policy
            || self.registries_d.is_some()
            || self.override_arch.is_some()
            || self.override_os.is_some()
            || self.override_variant.is_some()
    }

    fn trust(&self, t: &mut TrustArgs) {
        t.insecure_policy |= self.insecure_policy;
        t.policy = t.policy.take().or_else(|| self.policy.clone());
        t.registries_d = t.registries_d.take().or_else(|| self.registries_d.clone());
    }

    fn platform(&self, p: &mut PlatformArgs) {
        p.override_arch = p
            .override_arch
            .take()
            .or_else(|| self.override_arch.clone());
        p.override_os = p.override_os.take().or_else(|| self.override_os.clone());
        p.override_variant = p
            .override_variant
            .take()
            .or_else(|| self.override_variant.clone());
    }
}

/// Ends the command with skopeo's words and status when `limit` passes (a
/// command stuck where it cannot notice its deadline).
fn start_deadline(limit: std::time::Duration, given: String) {
    std::thread::spawn(move || {
        std::thread::sleep(limit);
        eprintln!("Error: --command-timeout {given}: context deadline exceeded");
        std::process::exit(1);
    });
}
