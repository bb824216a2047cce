//! `exec` through the engine's API with streams instead of a terminal: what a
//! REST API connection will drive. The container runs under runc, so that this
//! multi-threaded test process never forks a runtime itself.

mod common;

use std::io::Write;
use std::sync::{Arc, Mutex};

use berth_engine::Engine;
use berth_engine::exec::{ExecIo, ExecRequest, ExecStreams};
use common::store::TestStore;

/// A writer whose bytes the test reads afterwards.
#[derive(Clone, Default)]
struct Buffer(Arc<Mutex<Vec<u8>>>);

impl Write for Buffer {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Buffer {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

fn engine(st: &TestStore) -> Engine {
    let o = berth_storage::StoreOptions {
        graph_root: Some(st.path().join("root")),
        run_root: Some(st.path().join("run")),
        driver: Some("overlay".into()),
        ..Default::default()
    };
    Engine::open(&o).unwrap()
}

fn streams(input: &'static [u8], out: &Buffer, err: &Buffer) -> ExecStreams {
    ExecStreams {
        stdin: Some(Box::new(input)),
        stdout: Box::new(out.clone()),
        stderr: Box::new(err.clone()),
        resize: None,
    }
}

fn request(tty: bool, script: &str) -> ExecRequest {
    ExecRequest {
        args: vec!["sh".into(), "-c".into(), script.into()],
        tty,
        interactive: true,
        ..Default::default()
    }
}

#[test]
fn exec_relays_stdin_stdout_stderr_and_the_exit_code_over_streams() {
    let st = TestStore::with_busybox();
    st.ok(&[
        "run",
        "-d",
        "--runtime",
        "runc",
        "--name",
        "c",
        "localhost/bb:1",
        "sleep",
        "100",
    ]);
    let e = engine(&st);
    let (out, err) = (Buffer::default(), Buffer::default());
    let io = ExecIo::Streams(streams(b"line one\nline two\n", &out, &err));
    let code = e
        .containers()
        .exec_with("c", &request(false, "cat; echo to-stderr >&2; exit 3"), io)
        .unwrap();
    assert_eq!(code, 3);
    assert_eq!(out.text(), "line one\nline two\n");
    assert_eq!(err.text(), "to-stderr\n");
    st.ok(&["rm", "-f", "-t", "0", "c"]);
}

#[test]
fn exec_with_a_terminal_relays_it_over_streams() {
    let st = TestStore::with_busybox();
    st.ok(&[
        "run",
        "-d",
        "--runtime",
        "runc",
        "--name",
        "t",
        "localhost/bb:1",
        "sleep",
        "100",
    ]);
    let e = engine(&st);
    let (out, err) = (Buffer::default(), Buffer::default());
    // The terminal echoes the input and turns \n into \r\n on the way out.
    let io = ExecIo::Streams(streams(b"typed\n", &out, &err));
    let code = e
        .containers()
        .exec_with(
            "t",
            &request(true, "test -t 0 && read x && echo got-$x; exit 4"),
            io,
        )
        .unwrap();
    assert_eq!(code, 4);
    assert!(out.text().contains("got-typed\r\n"), "{:?}", out.text());
    assert_eq!(err.text(), "");
    st.ok(&["rm", "-f", "-t", "0", "t"]);
}

#[test]
fn exec_without_input_reads_end_of_file() {
    let st = TestStore::with_busybox();
    st.ok(&[
        "run",
        "-d",
        "--runtime",
        "runc",
        "--name",
        "n",
        "localhost/bb:1",
        "sleep",
        "100",
    ]);
    let (out, err) = (Buffer::default(), Buffer::default());
    let mut s = streams(b"", &out, &err);
    s.stdin = None;
    let code = engine(&st)
        .containers()
        .exec_with("n", &request(false, "cat; echo eof"), ExecIo::Streams(s))
        .unwrap();
    assert_eq!((code, out.text()), (0, "eof\n".to_string()));
    st.ok(&["rm", "-f", "-t", "0", "n"]);
}
