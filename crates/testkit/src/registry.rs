//! Debian's docker-registry (distribution), started on 127.0.0.1 at a free port:
//! plain, with htpasswd auth, or with TLS from a CA made here.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

pub struct Registry {
    child: Child,
    addr: String,
    dir: tempfile::TempDir,
}

enum Mode<'a> {
    Plain,
    Auth(&'a str, &'a str),
    Tls,
}

impl Registry {
    pub fn start() -> std::io::Result<Registry> {
        Self::launch(Mode::Plain)
    }

    pub fn start_with_auth(user: &str, pass: &str) -> std::io::Result<Registry> {
        Self::launch(Mode::Auth(user, pass))
    }

    pub fn start_tls() -> std::io::Result<Registry> {
        Self::launch(Mode::Tls)
    }

    pub fn addr(&self) -> &str {
        &self.addr
    }

    /// A directory laid out as `--cert-dir` expects, holding the CA.
    pub fn cert_dir(&self) -> PathBuf {
        self.dir.path().join("certs")
    }

    fn launch(mode: Mode) -> std::io::Result<Registry> {
        let mut dir = tempfile::tempdir()?;
        let mut last = None;
        for _ in 0..5 {
            let port = TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
            let addr = format!("127.0.0.1:{port}");
            let mut extra = String::new();
            match mode {
                Mode::Plain => {}
                Mode::Auth(u, p) => {
                    let out = Command::new("htpasswd").args(["-Bbn", u, p]).output()?;
                    std::fs::write(dir.path().join("htpasswd"), &out.stdout)?;
                    extra = format!(
                        "auth:\n  htpasswd:\n    realm: test\n    path: {}\n",
                        dir.path().join("htpasswd").display()
                    );
                }
                Mode::Tls => {
                    make_certs(dir.path())?;
                    extra = format!(
                        "  tls:\n    certificate: {}\n    key: {}\n",
                        dir.path().join("server.crt").display(),
                        dir.path().join("server.key").display()
                    );
                }
            }
            let (http_extra, top_extra) = match mode {
                Mode::Tls => (extra, String::new()),
                _ => (String::new(), extra),
            };
            let config = format!(
                "version: 0.1\nlog:\n  level: error\n  accesslog:\n    disabled: true\n\
                 storage:\n  filesystem:\n    rootdirectory: {}\n  delete:\n    enabled: true\n\
                 http:\n  addr: {addr}\n{http_extra}{top_extra}",
                dir.path().join("data").display()
            );
            let cfg = dir.path().join("config.yml");
            std::fs::write(&cfg, config)?;
            let mut cmd = Command::new("docker-registry");
            cmd.arg("serve")
                .arg(&cfg)
                .stdout(Stdio::null())
                .stderr(Stdio::null());
            for (k, _) in std::env::vars() {
                if k.starts_with("REGISTRY_") {
                    cmd.env_remove(k);
                }
            }
            let child = cmd.spawn()?;
            let mut reg = Registry { child, addr, dir };
            if reg.wait_ready() {
                return Ok(reg);
            }
            // Lost a race for the port, or it died: try another port.
            let _ = reg.child.kill();
            let _ = reg.child.wait();
            dir = tempfile::tempdir()?;
            last = Some(std::io::Error::other(format!(
                "docker-registry did not start on {}",
                reg.addr
            )));
        }
        Err(last.unwrap_or_else(|| std::io::Error::other("docker-registry did not start")))
    }

    /// Polls until the port accepts connections (bounded; the registry answers in ms).
    fn wait_ready(&mut self) -> bool {
        for _ in 0..400 {
            if let Ok(Some(_)) = self.child.try_wait() {
                return false;
            }
            if let Ok(mut s) = TcpStream::connect(&self.addr) {
                // Any HTTP answer (even a TLS alert) means it listens.
                let _ = s.set_read_timeout(Some(Duration::from_secs(2)));
                let _ = s.write_all(b"GET /v2/ HTTP/1.0\r\n\r\n");
                let mut b = [0u8; 1];
                if s.read(&mut b).is_ok() {
                    return true;
                }
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        false
    }
}

impl Drop for Registry {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn openssl(dir: &Path, args: &[&str]) -> std::io::Result<()> {
    let out = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()?;
    if !out.status.success() {
        return Err(std::io::Error::other(format!(
            "openssl {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        )));
    }
    Ok(())
}

/// A CA and a server certificate for 127.0.0.1 signed by it.
fn make_certs(dir: &Path) -> std::io::Result<()> {
    openssl(
        dir,
        &[
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            "ca.key",
            "-out",
            "ca.crt",
            "-days",
            "2",
            "-subj",
            "/CN=berth test CA",
        ],
    )?;
    openssl(
        dir,
        &[
            "req",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            "server.key",
            "-out",
            "server.csr",
            "-subj",
            "/CN=127.0.0.1",
        ],
    )?;
    std::fs::write(
        dir.join("ext.cnf"),
        "subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\n",
    )?;
    openssl(
        dir,
        &[
            "x509",
            "-req",
            "-in",
            "server.csr",
            "-CA",
            "ca.crt",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-out",
            "server.crt",
            "-days",
            "2",
            "-extfile",
            "ext.cnf",
        ],
    )?;
    std::fs::create_dir_all(dir.join("certs"))?;
    std::fs::copy(dir.join("ca.crt"), dir.join("certs/ca.crt"))?;
    Ok(())
}
