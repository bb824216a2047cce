//! berth-oci on a pure cgroup v2 host. This machine is a hybrid, so the test makes
//! one: in a private mount namespace it unmounts every v1 hierarchy and mounts
//! cgroup2 at /sys/fs/cgroup, then drives a container's whole life in there.

mod support;
use support::*;

#[test]
fn a_container_lives_and_dies_on_a_cgroup2_only_layout() {
    let mut b = Bundle::new(&["sleep", "1000"]);
    b.spec["linux"]["cgroupsPath"] = serde_json::Value::Null;
    b.write();
    let state = tempfile::tempdir().unwrap();
    let id = unique("v2");
    let script = r#"
set -e
for m in $(awk '$9 == "cgroup" {print $5}' /proc/self/mountinfo); do umount "$m"; done
umount /sys/fs/cgroup/unified 2>/dev/null || true
umount /sys/fs/cgroup
mount -t cgroup2 none /sys/fs/cgroup
oci() { "$OCI" --root "$ROOT" "$@"; }
oci run --detach --bundle "$BUNDLE" "$ID" >/dev/null
echo "status=$(oci state "$ID" | grep -o '"status": "[a-z]*"' | cut -d'"' -f4)"
test -d "/sys/fs/cgroup/berth-oci/$ID" && echo cgroup-made
oci pause "$ID"
echo "paused freeze=$(cat /sys/fs/cgroup/berth-oci/$ID/cgroup.freeze) status=$(oci state "$ID" | grep -o '"status": "[a-z]*"' | cut -d'"' -f4)"
oci resume "$ID"
echo "inside: $(oci exec "$ID" sh -c 'grep ^0:: /proc/self/cgroup; stat -f -c %t /sys/fs/cgroup')"
oci delete --force "$ID"
test ! -e "/sys/fs/cgroup/berth-oci/$ID" && echo cgroup-removed
"#;
    let out = std::process::Command::new("unshare")
        .args(["-m", "--propagation", "private", "sh", "-c", script])
        .env("OCI", BIN)
        .env("ROOT", state.path())
        .env("BUNDLE", b.path())
        .env("ID", &id)
        .env("BERTH_OCI_EXE_DIR", state.path().join(".exe"))
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{text}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        text.lines().collect::<Vec<_>>(),
        [
            "status=running",
            "cgroup-made",
            "paused freeze=1 status=paused",
            "inside: 0::/",
            "63677270",
            "cgroup-removed"
        ],
        "{text}"
    );
}
