//! `secret`: podman's secrets, stored root-only and given to containers at
//! start as a read-only file or an environment variable.

mod common;

use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::process::Stdio;

use common::store::TestStore;

const IMG: &str = "localhost/bb:1";
const VALUE: &str = "s3cr3t-value";

fn create_from_stdin(st: &TestStore, name: &str, data: &str) -> common::Run {
    let mut child = st
        .cmd()
        .args(["secret", "create", name, "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(data.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    common::Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

#[test]
fn secrets_reach_containers_as_files_and_variables_and_nowhere_else() {
    let st = TestStore::with_busybox();
    // Names that are not hex: a lookup also takes an ID prefix, and a name such as "db" would
    // find another secret whose random ID happens to start with it.
    let r = create_from_stdin(&st, "dbpass", VALUE);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let id = r.stdout.trim().to_string();
    assert_eq!(id.len(), 25, "{id}");
    let file = st.path().join("key");
    std::fs::write(&file, "from-a-file").unwrap();
    st.ok(&[
        "secret",
        "create",
        "--label",
        "k=v",
        "key",
        file.to_str().unwrap(),
    ]);
    // Listed, inspected, filtered; the data is shown nowhere.
    let ls = st.ok(&["secret", "ls"]).stdout;
    assert!(
        ls.starts_with("ID  ") && ls.contains(" dbpass ") && ls.contains(" key "),
        "{ls}"
    );
    assert_eq!(
        st.ok(&["secret", "ls", "-q", "--filter", "name=dbpass"])
            .stdout
            .trim(),
        id
    );
    assert_eq!(
        st.ok(&["secret", "ls", "--format", "{{.Name}} {{.Driver}}"])
            .stdout,
        "dbpass file\nkey file\n"
    );
    let inspect = st.ok(&["secret", "inspect", "key"]).stdout;
    let v = common::json(&inspect);
    assert_eq!(v[0]["Spec"]["Name"], "key");
    assert_eq!(v[0]["Spec"]["Labels"]["k"], "v");
    assert_eq!(
        st.ok(&["secret", "inspect", "--format", "{{.ID}}", "dbpass"])
            .stdout
            .trim(),
        id
    );
    // Kept for root alone.
    let dir = st.path().join("root/secrets");
    assert_eq!(
        std::fs::metadata(&dir).unwrap().permissions().mode() & 0o777,
        0o700
    );
    let data = dir.join("data").join(&id);
    assert_eq!(
        std::fs::metadata(&data).unwrap().permissions().mode() & 0o777,
        0o600
    );
    // A file (read-only, the mode and owner asked for) and a variable.
    st.ok(&[
        "run",
        "-d",
        "--name",
        "app",
        "--secret",
        "dbpass",
        "--secret",
        "key,target=/etc/app.key,uid=5,gid=6,mode=0400",
        "--secret",
        "source=dbpass,type=env,target=DB_PASS",
        IMG,
        "sleep",
        "1000",
    ]);
    let sh = |cmd: &str| st.ok(&["exec", "app", "sh", "-c", cmd]).stdout;
    assert_eq!(sh("cat /run/secrets/dbpass"), VALUE);
    assert_eq!(sh("cat /etc/app.key"), "from-a-file");
    assert_eq!(sh("stat -c '%a %u %g' /etc/app.key"), "400 5 6\n");
    assert_eq!(sh("echo $DB_PASS"), format!("{VALUE}\n"));
    let r = st.run(&["exec", "app", "sh", "-c", "echo x > /run/secrets/dbpass"]);
    assert_ne!(r.code, 0, "a secret's file is read-only");
    for what in [
        st.ok(&["inspect", "app"]).stdout,
        st.ok(&["ps", "-a", "--format", "json"]).stdout,
    ] {
        assert!(!what.contains(VALUE), "a secret's value shown: {what}");
    }
    st.ok(&["rm", "-f", "-t", "0", "app"]);
    // Refused: a name taken, a secret that is not there (nothing is made).
    let r = create_from_stdin(&st, "dbpass", "other");
    assert_eq!(r.code, 125);
    assert!(
        r.stderr.contains("dbpass: secret name in use"),
        "{}",
        r.stderr
    );
    let r = st.run(&["run", "--name", "never", "--secret", "nosuch", IMG, "true"]);
    assert_eq!(r.code, 125);
    assert_eq!(r.stderr, "Error: nosuch: no such secret\n");
    assert_eq!(st.run(&["container", "exists", "never"]).code, 1);
    let r = st.run(&["run", "--rm", "--secret", "dbpass,type=file", IMG, "true"]);
    assert_eq!(r.code, 125);
    assert!(
        r.stderr
            .contains("--secret dbpass,type=file: type is mount or env"),
        "{}",
        r.stderr
    );
    // Removed: gone from the list and from the disk.
    assert_eq!(st.run(&["secret", "exists", "dbpass"]).code, 0);
    assert_eq!(st.ok(&["secret", "rm", "dbpass"]).stdout.trim(), id);
    assert_eq!(st.run(&["secret", "exists", "dbpass"]).code, 1);
    assert!(!data.exists());
    let r = st.run(&["secret", "rm", "dbpass"]);
    assert_eq!(r.code, 1);
    assert_eq!(r.stderr, "Error: dbpass: no such secret\n");
    st.ok(&["secret", "rm", "--all"]);
    assert_eq!(st.ok(&["secret", "ls", "-q"]).stdout, "");
}
