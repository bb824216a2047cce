//! A tiny HTTP file server on 127.0.0.1 for tests of downloads (`ADD URL`,
//! `import URL`): fixed paths, 404 for anything else.

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};

/// Serves `files` (path → body) on 127.0.0.1 for as long as the process lives;
/// returns the base URL (`http://127.0.0.1:PORT`).
pub fn serve(files: Vec<(&'static str, Vec<u8>)>) -> std::io::Result<String> {
    let l = TcpListener::bind("127.0.0.1:0")?;
    let base = format!("http://{}", l.local_addr()?);
    std::thread::spawn(move || {
        for c in l.incoming().flatten() {
            answer(c, &files);
        }
    });
    Ok(base)
}

fn answer(mut c: TcpStream, files: &[(&'static str, Vec<u8>)]) {
    let Ok(clone) = c.try_clone() else { return };
    let mut r = BufReader::new(clone);
    let mut line = String::new();
    let _ = r.read_line(&mut line);
    loop {
        let mut h = String::new();
        if r.read_line(&mut h).unwrap_or(0) == 0 || h.trim().is_empty() {
            break;
        }
    }
    let path = line.split(' ').nth(1).unwrap_or("");
    match files.iter().find(|(p, _)| *p == path) {
        Some((_, body)) => {
            let _ = write!(
                c,
                "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                body.len()
            );
            let _ = c.write_all(body);
        }
        None => {
            let _ = c.write_all(
                b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
            );
        }
    }
}
