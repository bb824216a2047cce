//! `--userns keep-id`: the user the container runs as gets a line of its own
//! in the container's /etc/passwd and /etc/group when the image has none, as
//! podman adds it, so that `id -un`, `~` and $HOME work. The lines go into the
//! container's own files (not a bind mount over them), which stay writable.

use serde::{Deserialize, Serialize};
use std::io::Write;
use std::path::Path;

/// The user keep-id keeps: its name and IDs inside the container.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeepIdUser {
    pub name: String,
    pub uid: u32,
    pub gid: u32,
}

/// The host user's name for `uid` (its /etc/passwd line), else the number.
pub fn name_of(uid: u32) -> String {
    let passwd = std::fs::read_to_string("/etc/passwd").unwrap_or_default();
    passwd
        .lines()
        .map(|l| l.split(':').collect::<Vec<_>>())
        .find(|f| f.len() > 2 && f[2] == uid.to_string())
        .map_or_else(|| uid.to_string(), |f| f[0].to_string())
}

/// `--hostuser NAME|UID`: that user's line in the host's /etc/passwd.
pub fn host_line(user: &str) -> Option<String> {
    let passwd = std::fs::read_to_string("/etc/passwd").ok()?;
    passwd
        .lines()
        .find(|l| {
            let f: Vec<&str> = l.split(':').collect();
            f.len() > 2 && (f[0] == user || f[2] == user)
        })
        .map(|l| format!("{l}\n"))
}

/// Adds a whole /etc/passwd line where its UID has none.
pub fn add_line(rootfs: &Path, line: &str) -> std::io::Result<()> {
    let uid = line.split(':').nth(2).unwrap_or_default();
    let has = read_in_root(rootfs, "etc/passwd")
        .is_some_and(|t| t.lines().any(|l| l.split(':').nth(2) == Some(uid)));
    if has {
        return Ok(());
    }
    append_in_root(rootfs, "etc/passwd", line)
}

/// The home the new line names: `/home/NAME` when the container mounts
/// something there (the user's home brought in), else its working directory.
pub fn home(user: &KeepIdUser, mount_targets: &[&str], workdir: &str) -> String {
    let own = format!("/home/{}", user.name);
    if mount_targets.iter().any(|t| t.trim_end_matches('/') == own) {
        own
    } else if workdir.is_empty() {
        "/".into()
    } else {
        workdir.to_string()
    }
}

/// Adds the user's lines to the root's /etc/passwd and /etc/group where the
/// IDs have none. Both files are reached inside the root (a link in the image
/// never leads out of it) and only appended to; a missing file is made.
pub fn add(rootfs: &Path, user: &KeepIdUser, home: &str) -> std::io::Result<()> {
    let has = |file: &str, id: u32| {
        read_in_root(rootfs, file).is_some_and(|t| {
            t.lines()
                .any(|l| l.split(':').nth(2) == Some(id.to_string().as_str()))
        })
    };
    if !has("etc/passwd", user.uid) {
        let line = format!(
            "{0}:*:{1}:{2}:{0}:{home}:/bin/sh\n",
            user.name, user.uid, user.gid
        );
        append_in_root(rootfs, "etc/passwd", &line)?;
    }
    if !has("etc/group", user.gid) {
        append_in_root(
            rootfs,
            "etc/group",
            &format!("{}:x:{}:\n", user.name, user.gid),
        )?;
    }
    Ok(())
}

fn read_in_root(rootfs: &Path, file: &str) -> Option<String> {
    let rel = berth_storage::archive::resolve_in_root(rootfs, Path::new(file))?;
    std::fs::read_to_string(rootfs.join(rel)).ok()
}

/// Appends to `file` as resolved inside the root, never through a link at
/// its last step; makes it (0644, root's) when the image has none.
fn append_in_root(rootfs: &Path, file: &str, text: &str) -> std::io::Result<()> {
    use std::os::unix::fs::OpenOptionsExt;
    let rel = match berth_storage::archive::resolve_in_root(rootfs, Path::new(file)) {
        Some(r) => r,
        None => {
            let dir = Path::new(file).parent().unwrap_or(Path::new(""));
            let Some(d) = berth_storage::archive::resolve_in_root(rootfs, dir) else {
                return Ok(()); // no /etc: nothing to name the user in
            };
            d.join(Path::new(file).file_name().unwrap_or_default())
        }
    };
    let mut f = std::fs::OpenOptions::new()
        .append(true)
        .create(true)
        .mode(0o644)
        .custom_flags(libc::O_NOFOLLOW)
        .open(rootfs.join(rel))?;
    f.write_all(text.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user() -> KeepIdUser {
        KeepIdUser {
            name: "alice".into(),
            uid: 1234,
            gid: 1234,
        }
    }

    #[test]
    fn the_line_is_added_once_and_only_when_missing() {
        let d = tempfile::tempdir().unwrap();
        std::fs::create_dir(d.path().join("etc")).unwrap();
        std::fs::write(
            d.path().join("etc/passwd"),
            "root:x:0:0:root:/root:/bin/sh\n",
        )
        .unwrap();
        std::fs::write(d.path().join("etc/group"), "root:x:0:\nstaff:x:1234:\n").unwrap();
        add(d.path(), &user(), "/home/alice").unwrap();
        add(d.path(), &user(), "/home/alice").unwrap();
        let passwd = std::fs::read_to_string(d.path().join("etc/passwd")).unwrap();
        assert_eq!(
            passwd,
            "root:x:0:0:root:/root:/bin/sh\nalice:*:1234:1234:alice:/home/alice:/bin/sh\n"
        );
        // The group's ID was there already: nothing added.
        let group = std::fs::read_to_string(d.path().join("etc/group")).unwrap();
        assert_eq!(group, "root:x:0:\nstaff:x:1234:\n");
    }

    #[test]
    fn a_link_out_of_the_root_is_never_followed() {
        let d = tempfile::tempdir().unwrap();
        let outside = tempfile::tempdir().unwrap();
        let target = outside.path().join("passwd");
        std::fs::write(&target, "host\n").unwrap();
        std::fs::create_dir(d.path().join("etc")).unwrap();
        std::os::unix::fs::symlink(&target, d.path().join("etc/passwd")).unwrap();
        let _ = add(d.path(), &user(), "/");
        assert_eq!(std::fs::read_to_string(&target).unwrap(), "host\n");
    }

    #[test]
    fn home_is_the_mounted_one_else_the_workdir() {
        assert_eq!(home(&user(), &["/home/alice/"], "/w"), "/home/alice");
        assert_eq!(home(&user(), &["/home/xalice"], "/w"), "/w");
        assert_eq!(home(&user(), &[], ""), "/");
    }
}
