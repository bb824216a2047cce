//! Simple signing: `berth image standalone-sign/-verify`, `copy --sign-by`,
//! signatures kept in `dir:` images and in lookaside storage beside a registry,
//! and policy.json enforcement — each checked against skopeo both ways.

mod common;
mod support;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::*;
use support::fixtures;
use support::registry::Registry;

/// A throw-away GPG home with one signing key; its agent is stopped on drop.
struct Keyring {
    home: tempfile::TempDir,
    fingerprint: String,
    public_key: PathBuf,
}

impl Keyring {
    fn new(name: &str) -> Keyring {
        // gpg-agent's socket lives in the home: keep the path short.
        let home = tempfile::Builder::new()
            .prefix("bg")
            .tempdir_in("/tmp")
            .unwrap();
        let gpg = |args: &[&str]| {
            let out = Command::new("gpg")
                .arg("--homedir")
                .arg(home.path())
                .args(["--batch", "--no-tty"])
                .args(args)
                .output()
                .expect("run gpg");
            assert!(
                out.status.success(),
                "gpg {args:?}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            String::from_utf8(out.stdout).unwrap()
        };
        let uid = format!("{name} <{name}@berth.invalid>");
        gpg(&[
            "--passphrase",
            "",
            "--quick-gen-key",
            &uid,
            "ed25519",
            "sign",
            "never",
        ]);
        let listing = gpg(&["--with-colons", "--list-secret-keys", &uid]);
        let fingerprint = listing
            .lines()
            .find_map(|l| l.strip_prefix("fpr:"))
            .map(|l| l.trim_matches(':').to_string())
            .expect("fingerprint");
        let public_key = home.path().join("pub.asc");
        let armored = gpg(&["--armor", "--export", &fingerprint]);
        std::fs::write(&public_key, armored).unwrap();
        Keyring {
            home,
            fingerprint,
            public_key,
        }
    }

    fn berth(&self, args: &[&str]) -> Run {
        run_cmd(berth().env("GNUPGHOME", self.home.path()).args(args))
    }

    fn skopeo(&self, args: &[&str]) -> Run {
        let mut c = Command::new("skopeo");
        c.env("GNUPGHOME", self.home.path())
            .env("CONTAINERS_REGISTRIES_CONF", "/dev/null")
            .args(args);
        run_cmd(&mut c)
    }
}

impl Drop for Keyring {
    fn drop(&mut self) {
        let _ = Command::new("gpgconf")
            .arg("--homedir")
            .arg(self.home.path())
            .args(["--kill", "all"])
            .status();
    }
}

fn must(r: Run, what: &str) -> Run {
    assert_eq!(r.code, 0, "{what} failed: {}", r.stderr);
    r
}

fn small(dir: &Path) -> (fixtures::Fixture, String) {
    let fx = fixtures::small(&dir.join("small")).expect("fixture");
    let name = format!("oci:{}:{}", fx.layout.display(), fx.tag);
    (fx, name)
}

/// A policy that rejects everything but what `scope` of `transport` signed by
/// `key` with the given identity rule.
fn policy(dir: &Path, transport: &str, scope: &str, key: &Path, identity: &str) -> PathBuf {
    let p = dir.join(format!("policy-{transport}.json"));
    let text = format!(
        r#"{{"default":[{{"type":"reject"}}],
            "transports":{{"{transport}":{{"{scope}":[{{"type":"signedBy","keyType":"GPGKeys","keyPath":"{}"{identity}}}]}},
                           "oci":{{"":[{{"type":"insecureAcceptAnything"}}]}}}}}}"#,
        key.display()
    );
    std::fs::write(&p, text).unwrap();
    p
}

#[test]
fn standalone_signatures_interoperate_with_skopeo() {
    let k = Keyring::new("alice");
    let tmp = tempfile::tempdir().unwrap();
    let manifest = tmp.path().join("manifest.json");
    std::fs::write(&manifest, br#"{"schemaVersion":2,"layers":[]}"#).unwrap();
    let m = manifest.to_str().unwrap();
    let (by_berth, by_skopeo) = (tmp.path().join("b.sig"), tmp.path().join("s.sig"));
    let (bs, ss) = (by_berth.to_str().unwrap(), by_skopeo.to_str().unwrap());
    let fpr = k.fingerprint.as_str();
    let reference = "example.com/team/app:1.0";

    must(
        k.berth(&["image", "standalone-sign", "-o", bs, m, reference, fpr]),
        "berth sign",
    );
    let v = must(
        k.skopeo(&["standalone-verify", m, reference, fpr, bs]),
        "skopeo verify",
    );
    assert!(v.stdout.contains("Signature verified"), "{}", v.stdout);

    must(
        k.skopeo(&["standalone-sign", "-o", ss, m, reference, fpr]),
        "skopeo sign",
    );
    let v = must(
        k.berth(&["image", "standalone-verify", m, reference, fpr, ss]),
        "berth verify",
    );
    assert!(
        v.stdout.contains(&format!("fingerprint {fpr}")),
        "{}",
        v.stdout
    );
    // With only a public key file, from a keyring that knows nothing.
    let empty = Keyring::new("nobody");
    let pk = k.public_key.to_str().unwrap();
    must(
        empty.berth(&[
            "image",
            "standalone-verify",
            "--public-key-file",
            pk,
            m,
            reference,
            "any",
            ss,
        ]),
        "verify with a key file",
    );

    // What must fail: another reference, another manifest, a flipped byte,
    // a key that is not the one accepted.
    let other = tmp.path().join("other.json");
    std::fs::write(&other, b"{}").unwrap();
    let mut flipped = std::fs::read(&by_berth).unwrap();
    let mid = flipped.len() / 2;
    flipped[mid] ^= 1;
    let bad_sig = tmp.path().join("flipped.sig");
    std::fs::write(&bad_sig, flipped).unwrap();
    let cases: [(&[&str], &str); 4] = [
        (
            &[m, "example.com/team/app:2.0", fpr, bs],
            "example.com/team/app:1.0",
        ),
        (&[other.to_str().unwrap(), reference, fpr, bs], "not"),
        (&[m, reference, fpr, bad_sig.to_str().unwrap()], "signature"),
        (&[m, reference, &empty.fingerprint, bs], "not accepted"),
    ];
    for (args, says) in cases {
        let mut full = vec!["image", "standalone-verify"];
        full.extend_from_slice(args);
        let r = k.berth(&full);
        assert_eq!(r.code, 1, "{args:?} verified: {}", r.stdout);
        assert!(r.stderr.contains(says), "{args:?}: {}", r.stderr);
        assert_eq!(r.stderr.trim().lines().count(), 1, "{}", r.stderr);
    }
}

#[test]
fn signed_dir_images_pass_the_policy_and_unsigned_ones_do_not() {
    let k = Keyring::new("alice");
    let mallory = Keyring::new("mallory");
    let tmp = tempfile::tempdir().unwrap();
    let (_fx, src) = small(tmp.path());
    let identity = "example.com/berth/small:v1";
    let signed = tmp.path().join("signed");
    let dir = |p: &Path| format!("dir:{}", p.display());
    must(
        k.berth(&[
            "image",
            "copy",
            "-q",
            "--sign-by",
            &k.fingerprint,
            "--sign-identity",
            identity,
            &src,
            &dir(&signed),
        ]),
        "copy --sign-by",
    );
    assert!(signed.join("signature-1").is_file());

    let exact =
        format!(r#","signedIdentity":{{"type":"exactReference","dockerReference":"{identity}"}}"#);
    let pol = policy(tmp.path(), "dir", "", &k.public_key, &exact);
    let pol = pol.to_str().unwrap();

    // berth and skopeo both accept the signed image under the policy; the
    // signature travels with a dir: → dir: copy unchanged.
    let carried = tmp.path().join("carried");
    must(
        k.berth(&[
            "image",
            "copy",
            "-q",
            "--policy",
            pol,
            &dir(&signed),
            &dir(&carried),
        ]),
        "berth copy",
    );
    assert_eq!(
        std::fs::read(carried.join("signature-1")).unwrap(),
        std::fs::read(signed.join("signature-1")).unwrap()
    );
    must(
        k.skopeo(&[
            "--policy",
            pol,
            "copy",
            &dir(&signed),
            &dir(&tmp.path().join("by-skopeo")),
        ]),
        "skopeo copy under the policy",
    );
    // An OCI layout keeps no signatures: refused unless they are dropped.
    let oci = format!("oci:{}:t", tmp.path().join("layout").display());
    let r = k.berth(&["image", "copy", "-q", "--policy", pol, &dir(&signed), &oci]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(r.stderr.contains("--remove-signatures"), "{}", r.stderr);
    must(
        k.berth(&[
            "image",
            "copy",
            "-q",
            "--remove-signatures",
            "--policy",
            pol,
            &dir(&signed),
            &oci,
        ]),
        "copy --remove-signatures",
    );
    // Changing the manifest would invalidate the signature.
    let r = k.berth(&[
        "image",
        "copy",
        "-q",
        "--dest-compress-format",
        "zstd",
        &dir(&signed),
        &dir(&tmp.path().join("z")),
    ]);
    assert_eq!(r.code, 1);
    assert!(r.stderr.contains("invalidate"), "{}", r.stderr);

    // Refused: no signature, another key's signature, another identity.
    let unsigned = tmp.path().join("unsigned");
    must(
        k.berth(&["image", "copy", "-q", &src, &dir(&unsigned)]),
        "unsigned copy",
    );
    let by_mallory = tmp.path().join("mallory");
    must(
        mallory.berth(&[
            "image",
            "copy",
            "-q",
            "--sign-by",
            &mallory.fingerprint,
            "--sign-identity",
            identity,
            &src,
            &dir(&by_mallory),
        ]),
        "mallory signs",
    );
    let elsewhere = tmp.path().join("elsewhere");
    must(
        k.berth(&[
            "image",
            "copy",
            "-q",
            "--sign-by",
            &k.fingerprint,
            "--sign-identity",
            "example.com/berth/other:v1",
            &src,
            &dir(&elsewhere),
        ]),
        "sign for another name",
    );
    for (image, says) in [
        (
            &unsigned,
            "A signature was required, but no signature exists",
        ),
        (&by_mallory, "Invalid GPG signature: signed by key"),
        (&elsewhere, "does not match"),
    ] {
        let out = tmp.path().join("out");
        let r = k.berth(&[
            "image",
            "copy",
            "-q",
            "--policy",
            pol,
            &dir(image),
            &dir(&out),
        ]);
        assert_eq!(r.code, 1, "{} accepted", image.display());
        assert!(
            r.stderr.contains("Source image rejected") && r.stderr.contains(says),
            "{}",
            r.stderr
        );
        assert!(
            !out.join("manifest.json").exists(),
            "a rejected image was written"
        );
        // skopeo agrees.
        let s = k.skopeo(&[
            "--policy",
            pol,
            "copy",
            &dir(image),
            &dir(&tmp.path().join("s-out")),
        ]);
        assert_ne!(s.code, 0, "skopeo accepted {}", image.display());
    }
}

#[test]
fn registry_signatures_live_in_lookaside_storage_both_tools_read() {
    let k = Keyring::new("alice");
    let reg = Registry::start().expect("registry");
    let tmp = tempfile::tempdir().unwrap();
    let (_fx, src) = small(tmp.path());
    let sigstore = tmp.path().join("sigstore");
    let regd = tmp.path().join("registries.d");
    std::fs::create_dir(&regd).unwrap();
    std::fs::write(
        regd.join("test.yaml"),
        format!(
            "default-docker:\n  sigstore: file://{}\n",
            sigstore.display()
        ),
    )
    .unwrap();
    let regd = regd.to_str().unwrap();
    let signed_by_berth = format!("docker://{}/sig/by-berth:v1", reg.addr());
    let signed_by_skopeo = format!("docker://{}/sig/by-skopeo:v1", reg.addr());
    let no_tls = "--dest-tls-verify=false";
    must(
        k.berth(&[
            "image",
            "copy",
            "-q",
            no_tls,
            "--registries.d",
            regd,
            "--sign-by",
            &k.fingerprint,
            &src,
            &signed_by_berth,
        ]),
        "berth push --sign-by",
    );
    let digest =
        json(&ok(&["image", "inspect", "--tls-verify=false", &signed_by_berth]).stdout)["Digest"]
            .as_str()
            .unwrap()
            .to_string();
    let hex = digest.strip_prefix("sha256:").unwrap();
    assert!(
        sigstore
            .join(format!("sig/by-berth@sha256={hex}/signature-1"))
            .is_file()
    );
    must(
        k.skopeo(&[
            "copy",
            no_tls,
            "--registries.d",
            regd,
            "--sign-by",
            &k.fingerprint,
            &src,
            &signed_by_skopeo,
        ]),
        "skopeo push --sign-by",
    );

    let pol = policy(tmp.path(), "docker", reg.addr(), &k.public_key, "");
    let pol = pol.to_str().unwrap();
    for image in [&signed_by_berth, &signed_by_skopeo] {
        let out = format!("dir:{}", tmp.path().join("out").display());
        must(
            k.berth(&[
                "image",
                "copy",
                "-q",
                "--src-tls-verify=false",
                "--registries.d",
                regd,
                "--policy",
                pol,
                "--remove-signatures",
                image,
                &out,
            ]),
            "berth copy of a signed image",
        );
        must(
            k.skopeo(&[
                "--policy",
                pol,
                "--registries.d",
                regd,
                "copy",
                "--src-tls-verify=false",
                "--remove-signatures",
                image,
                &out,
            ]),
            "skopeo copy of a signed image",
        );
    }
    // The same manifest under another tag: the signature names v1, not v2.
    let v2 = format!("docker://{}/sig/by-berth:v2", reg.addr());
    must(
        k.berth(&[
            "image",
            "copy",
            "-q",
            "--src-tls-verify=false",
            no_tls,
            "--registries.d",
            regd,
            &signed_by_berth,
            &v2,
        ]),
        "retag",
    );
    let r = k.berth(&[
        "image",
        "copy",
        "-q",
        "--src-tls-verify=false",
        "--registries.d",
        regd,
        "--policy",
        pol,
        &v2,
        &format!("dir:{}", tmp.path().join("v2").display()),
    ]);
    assert_eq!(r.code, 1, "a signature for v1 let v2 through");
    assert!(r.stderr.contains("does not match"), "{}", r.stderr);
    // Pulling into the store checks the same policy.
    let store = tmp.path().join("store");
    let (root, runroot) = (store.join("root"), store.join("run"));
    let pull = |image: &str| {
        k.berth(&[
            "--root",
            root.to_str().unwrap(),
            "--runroot",
            runroot.to_str().unwrap(),
            "pull",
            "-q",
            "--tls-verify=false",
            "--signature-policy",
            pol,
            image,
        ])
    };
    let unsigned = format!("docker://{}/sig/unsigned:v1", reg.addr());
    must(
        k.berth(&["image", "copy", "-q", no_tls, &src, &unsigned]),
        "unsigned push",
    );
    let r = pull(&unsigned);
    assert_eq!(r.code, 125, "unsigned image pulled");
    assert!(
        r.stderr
            .contains("Source image rejected: A signature was required"),
        "{}",
        r.stderr
    );
}

/// `image sign` (podman's): signs a registry image's manifest into a
/// lookaside directory, each signature after those kept; a policy that
/// wants the key then accepts the image, for berth and skopeo alike.
#[test]
fn image_sign_writes_lookaside_signatures_a_policy_accepts() {
    let k = Keyring::new("carol");
    let reg = Registry::start().expect("registry");
    let tmp = tempfile::tempdir().unwrap();
    let (_fx, src) = small(tmp.path());
    let image = format!("docker://{}/sig/plain:v1", reg.addr());
    must(
        k.berth(&[
            "image",
            "copy",
            "-q",
            "--dest-tls-verify=false",
            &src,
            &image,
        ]),
        "push",
    );
    let sigs = tmp.path().join("sigs");
    let sigs_s = sigs.to_str().unwrap();
    for _ in 0..2 {
        must(
            k.berth(&[
                "image",
                "sign",
                "--tls-verify=false",
                "--sign-by",
                &k.fingerprint,
                "--directory",
                sigs_s,
                &image,
            ]),
            "image sign",
        );
    }
    let digest = json(&ok(&["image", "inspect", "--tls-verify=false", &image]).stdout)["Digest"]
        .as_str()
        .unwrap()
        .to_string();
    let dir = sigs.join(format!("sig/plain@{}", digest.replacen(':', "=", 1)));
    assert!(dir.join("signature-1").is_file() && dir.join("signature-2").is_file());
    let regd = tmp.path().join("registries.d");
    std::fs::create_dir(&regd).unwrap();
    std::fs::write(
        regd.join("sigs.yaml"),
        format!("default-docker:\n  lookaside: file://{sigs_s}\n"),
    )
    .unwrap();
    let regd = regd.to_str().unwrap();
    let pol = policy(tmp.path(), "docker", reg.addr(), &k.public_key, "");
    let pol = pol.to_str().unwrap();
    let out = format!("dir:{}", tmp.path().join("out").display());
    let args = [
        "--src-tls-verify=false",
        "--registries.d",
        regd,
        "--policy",
        pol,
        "--remove-signatures",
        &image,
        &out,
    ];
    let mut berth_args = vec!["image", "copy", "-q"];
    berth_args.extend(args);
    must(k.berth(&berth_args), "berth copy of the signed image");
    let mut skopeo_args = vec!["copy"];
    skopeo_args.extend(args);
    must(k.skopeo(&skopeo_args), "skopeo copy of the signed image");
    // Not a registry image: refused, naming it.
    let r = k.berth(&["image", "sign", "--sign-by", &k.fingerprint, &src]);
    assert_eq!(r.code, 125, "{}", r.stderr);
    assert!(r.stderr.contains("only docker:// images"), "{}", r.stderr);
}

/// `image trust set/show` edit and list policy.json as podman's do, and a pull
/// obeys what was set.
#[test]
fn image_trust_set_and_show() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("policy.json");
    let pp = format!("--policypath={}", p.display());
    let r = run(&["image", "trust", "set", &pp, "--type=bogus", "default"]);
    assert_eq!(r.code, 125);
    assert!(
        r.stderr.starts_with("Error: invalid choice: bogus"),
        "{}",
        r.stderr
    );
    assert!(!p.exists(), "a refused change wrote the policy");
    ok(&["image", "trust", "set", &pp, "--type=accept", "default"]);
    ok(&["image", "trust", "set", &pp, "--type=reject", "docker.io"]);
    let table = ok(&["image", "trust", "show", &pp]).stdout;
    let lines: Vec<Vec<&str>> = table
        .lines()
        .map(|l| l.split_whitespace().collect())
        .collect();
    assert_eq!(lines[0], ["TRANSPORT", "NAME", "TYPE", "ID", "STORE"]);
    assert_eq!(lines[1], ["all", "default", "accept"]);
    assert_eq!(lines[2], ["repository", "docker.io", "reject"]);
    let json: serde_json::Value =
        serde_json::from_str(&ok(&["image", "trust", "show", &pp, "--json"]).stdout).unwrap();
    assert_eq!(json[1]["repo_name"], "docker.io");
    assert_eq!(json[1]["type"], "reject");
    let raw = ok(&["image", "trust", "show", &pp, "--raw"]).stdout;
    assert_eq!(raw, std::fs::read_to_string(&p).unwrap());
    // What was set is what a copy enforces.
    let (_fx, src) = small(dir.path());
    let copy = |n: &str| {
        let dest = format!("dir:{}", dir.path().join(n).display());
        run(&[
            "image",
            "copy",
            "--policy",
            p.to_str().unwrap(),
            &src,
            &dest,
        ])
    };
    assert_eq!(copy("a").code, 0, "the default, accept, refused a copy");
    ok(&["image", "trust", "set", &pp, "--type=reject", "default"]);
    assert_ne!(copy("b").code, 0, "the default, reject, let a copy through");
}
