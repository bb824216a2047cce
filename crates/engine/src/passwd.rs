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
    crate::top::name_in(Path::new("/etc/passwd"), uid).unwrap_or_else(|| uid.to_string())
}

/// `--hostuser NAME|UID`: that user's line in the host's /etc/passwd.
pub fn host_line(user: &str) -> Option<String> {
    let passwd = std::fs::read_to_string("/etc/passwd").ok()?;
    let f = crate::spec::lookup(&passwd, 2, |f| f[0] == user || f[2] == user)?;
    Some(format!("{}\n", f.join(":")))
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
/// IDs have none (see [`ensure_line`]).
pub fn add(rootfs: &Path, user: &KeepIdUser, home: &str) -> std::io::Result<()> {
    let home = sane_home(home);
    let line = format!(
        "{0}:*:{1}:{2}:{0}:{home}:/bin/sh\n",
        user.name, user.uid, user.gid
    );
    ensure_line(rootfs, "passwd", &user.uid.to_string(), &line)?;
    let group = format!("{}:x:{}:\n", user.name, user.gid);
    ensure_line(rootfs, "group", &user.gid.to_string(), &group)
}

/// podman's lines for a numeric `--user UID[:GROUP]` the image does not know:
/// `UID:*:UID:GID:container user:HOME:/bin/sh` in /etc/passwd (GID as the
/// runtime got it), and `N:x:N:USER` in /etc/group for a numeric group (the
/// user part standing for it when none is given) that has no line, so that
/// `id`, `whoami` and `~` work for images run with arbitrary IDs.
pub fn add_numeric_user(rootfs: &Path, spec: &str, gid: u32, home: &str) -> std::io::Result<()> {
    let (user, group) = spec
        .split_once(':')
        .map_or((spec, None), |(u, g)| (u, Some(g)));
    if let Ok(uid) = user.parse::<u32>() {
        let line = format!(
            "{uid}:*:{uid}:{gid}:container user:{}:/bin/sh\n",
            sane_home(home)
        );
        ensure_line(rootfs, "passwd", &uid.to_string(), &line)?;
    }
    match group.unwrap_or(user).parse::<u32>() {
        Ok(n) => ensure_line(
            rootfs,
            "group",
            &n.to_string(),
            &format!("{n}:x:{n}:{user}\n"),
        ),
        Err(_) => Ok(()),
    }
}

/// A home that would break a line's fields is none.
fn sane_home(home: &str) -> &str {
    if home.is_empty() || home.contains([':', '\n']) {
        "/"
    } else {
        home
    }
}

/// Adds a whole /etc/passwd line where its UID has none.
pub fn add_line(rootfs: &Path, line: &str) -> std::io::Result<()> {
    let uid = line.split(':').nth(2).unwrap_or_default();
    ensure_line(rootfs, "passwd", uid, line)
}

/// The most of an /etc file read to look for a line.
const MAX_READ: u64 = 4 << 20;

/// Appends `line` to the root's /etc/`file` unless a line has `id` in its
/// third field. /etc is resolved inside the root (a link in the image never
/// leads out), the file is opened once by descriptor, never through a link,
/// and must be a regular file (not a device or a FIFO the image planted) of a
/// sane size; a missing one is made (0644).
fn ensure_line(rootfs: &Path, file: &str, id: &str, line: &str) -> std::io::Result<()> {
    use std::io::Read;
    let etc = match crate::copy::open_dir_in_root(rootfs, Path::new("etc")) {
        Ok(fd) => fd,
        // No /etc: nothing to name the user in.
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(e),
    };
    let flags = libc::O_RDWR | libc::O_APPEND | libc::O_CREAT | libc::O_NONBLOCK;
    let fd = crate::sys::open_nofollow(Some(&etc), file.as_ref(), flags, 0o644)?;
    let st = crate::sys::fstat(&fd)?;
    if st.st_mode & libc::S_IFMT != libc::S_IFREG {
        return Err(std::io::Error::other(format!(
            "/etc/{file} is not a regular file"
        )));
    }
    let mut f = std::fs::File::from(fd);
    let mut text = Vec::new();
    (&mut f).take(MAX_READ).read_to_end(&mut text)?;
    if text.len() as u64 >= MAX_READ {
        return Err(std::io::Error::other(format!(
            "/etc/{file} is larger than 4 MiB"
        )));
    }
    let text = String::from_utf8_lossy(&text);
    if text.lines().any(|l| l.split(':').nth(2) == Some(id)) {
        return Ok(());
    }
    f.write_all(line.as_bytes())
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
        assert!(add(d.path(), &user(), "/").is_err());
        assert_eq!(std::fs::read_to_string(&target).unwrap(), "host\n");
    }

    #[test]
    fn a_fifo_or_a_huge_file_is_refused_not_read() {
        let d = tempfile::tempdir().unwrap();
        std::fs::create_dir(d.path().join("etc")).unwrap();
        let fifo = std::ffi::CString::new(d.path().join("etc/passwd").to_str().unwrap()).unwrap();
        // SAFETY: a NUL-terminated path.
        assert_eq!(unsafe { libc::mkfifo(fifo.as_ptr(), 0o644) }, 0);
        let e = add(d.path(), &user(), "/").unwrap_err();
        assert!(e.to_string().contains("not a regular file"), "{e}");
        std::fs::remove_file(d.path().join("etc/passwd")).unwrap();
        let big = std::fs::File::create(d.path().join("etc/passwd")).unwrap();
        big.set_len(MAX_READ + 1).unwrap();
        let e = add(d.path(), &user(), "/").unwrap_err();
        assert!(e.to_string().contains("larger than"), "{e}");
    }

    /// podman's lines for an arbitrary numeric --user, each only when missing;
    /// a name (known to the image, or refused before) gets none.
    #[test]
    fn a_numeric_user_unknown_to_the_image_gets_podmans_lines() {
        let d = tempfile::tempdir().unwrap();
        std::fs::create_dir(d.path().join("etc")).unwrap();
        let base = "root:x:0:0:root:/root:/bin/sh\n";
        std::fs::write(d.path().join("etc/passwd"), base).unwrap();
        std::fs::write(d.path().join("etc/group"), "root:x:0:\n").unwrap();
        let read = |f: &str| std::fs::read_to_string(d.path().join("etc").join(f)).unwrap();
        add_numeric_user(d.path(), "1234:5678", 5678, "/srv").unwrap();
        add_numeric_user(d.path(), "1234:5678", 5678, "/srv").unwrap();
        assert_eq!(
            read("passwd"),
            format!("{base}1234:*:1234:5678:container user:/srv:/bin/sh\n")
        );
        assert_eq!(read("group"), "root:x:0:\n5678:x:5678:1234\n");
        // The user part stands for the group; an empty or broken home is /.
        add_numeric_user(d.path(), "42", 0, "").unwrap();
        assert!(read("passwd").ends_with("42:*:42:0:container user:/:/bin/sh\n"));
        assert!(read("group").ends_with("42:x:42:42\n"));
        // Known IDs and names add nothing.
        let before = (read("passwd"), read("group"));
        add_numeric_user(d.path(), "0", 0, "/").unwrap();
        add_numeric_user(d.path(), "root:root", 0, "/").unwrap();
        assert_eq!((read("passwd"), read("group")), before);
    }

    #[test]
    fn home_is_the_mounted_one_else_the_workdir() {
        assert_eq!(home(&user(), &["/home/alice/"], "/w"), "/home/alice");
        assert_eq!(home(&user(), &["/home/xalice"], "/w"), "/w");
        assert_eq!(home(&user(), &[], ""), "/");
    }
}
