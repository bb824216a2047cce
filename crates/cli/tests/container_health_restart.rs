//! Restart policies and healthchecks, run by the monitor for detached
//! containers and for foreground runs alike.

mod common;

use common::store::TestStore;
use common::*;

#[test]
fn foreground_runs_get_restarts_and_healthchecks_too() {
    let st = TestStore::with_busybox();
    // The container waits until its own healthcheck has run once.
    let r = st.run(&[
        "run",
        "--name",
        "h",
        "--health-cmd",
        "touch /tmp/checked",
        "--health-interval",
        "1s",
        "localhost/bb:1",
        "sh",
        "-c",
        "for i in $(seq 100); do [ -e /tmp/checked ] && echo checked && exit 0; sleep 0.1; done; echo never",
    ]);
    assert_eq!(
        (r.code, r.stdout.as_str()),
        (0, "checked\n"),
        "{}",
        r.stderr
    );
    // on-failure:2 in the foreground: the output comes through, the exit code
    // is the last run's, after the two restarts.
    let r = st.run(&[
        "run",
        "--name",
        "f",
        "--restart",
        "on-failure:2",
        "localhost/bb:1",
        "sh",
        "-c",
        "echo try; exit 3",
    ]);
    assert_eq!(r.code, 3, "{}", r.stderr);
    assert!(r.stdout.starts_with("try\n"), "{}", r.stdout);
    assert_eq!(st.inspect("f", ".RestartCount"), "2");
    // With --rm the monitor may have removed the container before the
    // foreground command asks for its exit code: it is still the code.
    for _ in 0..5 {
        let r = st.run(&[
            "run",
            "--rm",
            "--health-cmd",
            "true",
            "localhost/bb:1",
            "sh",
            "-c",
            "exit 3",
        ]);
        assert_eq!(r.code, 3, "{}", r.stderr);
    }
}

#[test]
fn restart_policies_and_healthchecks_run_in_the_monitor() {
    let st = TestStore::with_busybox();
    // on-failure:2 — the first run and two restarts; `wait` returns once the
    // monitor gives up.
    st.ok(&[
        "run",
        "-d",
        "--name",
        "flaky",
        "--restart",
        "on-failure:2",
        "localhost/bb:1",
        "sh",
        "-c",
        "echo run; exit 1",
    ]);
    assert_eq!(st.ok(&["wait", "flaky"]).stdout, "1\n");
    assert_eq!(st.inspect("flaky", ".RestartCount"), "2");
    assert_eq!(st.ok(&["logs", "flaky"]).stdout, "run\nrun\nrun\n");
    // always — restarted after a clean exit, until the user stops it.
    st.ok(&[
        "run",
        "-d",
        "--name",
        "loop",
        "--restart",
        "always",
        "localhost/bb:1",
        "sh",
        "-c",
        "echo tick; sleep 0.1",
    ]);
    wait_for("two restarts", || {
        st.inspect("loop", ".RestartCount")
            .parse::<u32>()
            .unwrap_or(0)
            >= 2
    });
    st.ok(&["stop", "-t", "1", "loop"]);
    assert_eq!(st.inspect("loop", ".State.Status"), "exited");
    let count = st.inspect("loop", ".RestartCount");
    st.ok(&["wait", "loop"]);
    assert_eq!(
        st.inspect("loop", ".RestartCount"),
        count,
        "restarted after stop"
    );
    // Killed by its user: not restarted either (podman's rule for kill and stop).
    st.ok(&[
        "run",
        "-d",
        "--name",
        "killed",
        "--restart",
        "always",
        "localhost/bb:1",
        "sleep",
        "600",
    ]);
    st.ok(&["kill", "killed"]);
    assert_eq!(st.ok(&["wait", "killed"]).stdout, "137\n");
    assert_eq!(st.inspect("killed", ".State.Status"), "exited");
    assert_eq!(st.inspect("killed", ".RestartCount"), "0");
    let r = st.run(&[
        "run",
        "--rm",
        "--restart",
        "always",
        "localhost/bb:1",
        "true",
    ]);
    assert_eq!(r.code, 125, "{}", r.stderr);
    assert!(
        st.run(&[
            "run",
            "-d",
            "--restart",
            "sometimes",
            "localhost/bb:1",
            "true"
        ])
        .code
            == 125
    );

    // Healthchecks without systemd: the monitor runs them every interval.
    st.ok(&[
        "run",
        "-d",
        "--name",
        "svc",
        "--health-cmd",
        "test -f /tmp/ready",
        "--health-interval",
        "100ms",
        "--health-retries",
        "1",
        "localhost/bb:1",
        "sleep",
        "1000",
    ]);
    wait_for("unhealthy", || {
        st.inspect("svc", ".State.Health.Status") == "unhealthy"
    });
    assert!(st.ok(&["ps"]).stdout.contains("(unhealthy)"));
    assert_eq!(st.run(&["healthcheck", "run", "svc"]).code, 1);
    st.ok(&["exec", "svc", "sh", "-c", "echo > /tmp/ready"]);
    wait_for("healthy", || {
        st.inspect("svc", ".State.Health.Status") == "healthy"
    });
    let r = st.run(&["healthcheck", "run", "svc"]);
    assert_eq!((r.code, r.stdout.as_str()), (0, ""));
    assert_eq!(st.inspect("svc", ".State.Health.FailingStreak"), "0");
    let r = st.run(&["healthcheck", "run", "flaky"]);
    assert_eq!(r.code, 125, "no healthcheck defined");
}

/// `--health-on-failure`: once a check finds the container unhealthy, none
/// leaves it, kill and stop end it, restart has its monitor start it again
/// (whose command clears the fault, so it is healthy again); the action
/// shows in inspect. Without a check, an action is refused at create.
#[test]
fn health_on_failure_actions() {
    let st = TestStore::with_busybox();
    let r = st.run(&["create", "--health-on-failure=kill", "localhost/bb:1"]);
    assert_eq!(r.code, 125);
    assert_eq!(
        r.stderr,
        "Error: cannot set on-failure action to kill without a health check\n"
    );
    for policy in ["none", "kill", "stop", "restart"] {
        let name = format!("hc-{policy}");
        st.ok(&[
            "run",
            "-d",
            "--name",
            &name,
            "--health-cmd",
            "test ! -e /uh-oh",
            "--health-retries",
            "1",
            "--health-interval",
            "1h",
            &format!("--health-on-failure={policy}"),
            "localhost/bb:1",
            "sh",
            "-c",
            "rm -f /uh-oh; sleep 1000",
        ]);
        st.ok(&["healthcheck", "run", &name]);
        st.ok(&["exec", &name, "touch", "/uh-oh"]);
        let r = st.run(&["healthcheck", "run", &name]);
        assert_eq!((r.code, r.stdout.as_str()), (1, "unhealthy\n"), "{policy}");
        let action = st.inspect(&name, ".Config.HealthcheckOnFailureAction");
        assert_eq!(action, policy);
        // The action is done when `healthcheck run` returns.
        let status = st.inspect(&name, ".State.Status");
        match policy {
            "none" => assert_eq!(status, "running"),
            "kill" | "stop" => assert_eq!(status, "exited", "{policy}"),
            _ => {
                // Started again by its monitor, and healthy again.
                assert_eq!(status, "running");
                assert_eq!(st.inspect(&name, ".RestartCount"), "1");
                st.ok(&["healthcheck", "run", &name]);
            }
        }
        st.ok(&["rm", "-f", "-t", "0", &name]);
    }
    // The monitor's own checks act too: killed on its first failing check.
    st.ok(&[
        "run",
        "-d",
        "--name",
        "by-monitor",
        "--health-cmd",
        "test ! -e /uh-oh",
        "--health-retries",
        "1",
        "--health-interval",
        "1s",
        "--health-on-failure=kill",
        "localhost/bb:1",
        "sh",
        "-c",
        "touch /uh-oh; sleep 1000",
    ]);
    assert_eq!(st.ok(&["wait", "by-monitor"]).stdout, "137\n");
    assert_eq!(
        st.inspect("by-monitor", ".State.Health.Status"),
        "unhealthy"
    );
}

/// `rm -f` (and `kube down`) of a container its restart policy restarts as
/// fast as it exits: the remover holds the container's lock while it waits
/// for the monitor, so the monitor must not wait for that lock to restart it
/// (the two waited for each other for ever, one time in three).
#[test]
fn removing_a_container_that_restarts_at_once_does_not_hang() {
    let st = TestStore::with_busybox();
    for round in 0..5 {
        st.ok(&[
            "run",
            "-d",
            "--name",
            "spin",
            "--network",
            "none",
            "--restart",
            "always",
            "localhost/bb:1",
            "sh",
            "-c",
            "exit 0",
        ]);
        wait_for("a few restarts", || {
            st.inspect("spin", ".RestartCount")
                .parse::<u32>()
                .unwrap_or(0)
                >= 3
        });
        // A hang is the failure: ended after a minute instead of never.
        let mut rm = std::process::Command::new("timeout");
        rm.args(["-s", "KILL", "60"]).arg(st.cmd().get_program());
        rm.args(st.cmd().get_args())
            .args(["rm", "-f", "-t", "0", "spin"]);
        rm.envs(st.cmd().get_envs().filter_map(|(k, v)| v.map(|v| (k, v))));
        let r = run_cmd(&mut rm);
        assert_eq!(r.code, 0, "round {round}: {}", r.stderr);
        assert_ne!(st.run(&["container", "exists", "spin"]).code, 0);
    }
}

/// podman's `--health-interval 0`: no timer runs the check (it ran every
/// 100 ms, for ever); `healthcheck run` still does.
#[test]
fn a_zero_health_interval_runs_the_check_only_when_asked() {
    let st = TestStore::with_busybox();
    // A second for a timer to show itself: the check counts its runs.
    let r = st.run(&[
        "run",
        "--name",
        "z",
        "--health-cmd",
        "echo ran >> /tmp/runs",
        "--health-interval",
        "0",
        "localhost/bb:1",
        "sh",
        "-c",
        "sleep 1; cat /tmp/runs 2>/dev/null | wc -l",
    ]);
    assert_eq!((r.code, r.stdout.trim()), (0, "0"), "{}", r.stderr);
    st.ok(&[
        "run",
        "-d",
        "--name",
        "asked",
        "--health-cmd",
        "true",
        "--health-interval",
        "0",
        "localhost/bb:1",
        "sleep",
        "100",
    ]);
    st.ok(&["healthcheck", "run", "asked"]);
    assert_eq!(st.inspect("asked", ".State.Health.Status"), "healthy");
    // The check as podman's inspect shows it; a container without one has
    // an empty health.
    assert_eq!(
        st.inspect("asked", "json .Config.Healthcheck"),
        r#"{"Test":["CMD-SHELL","true"],"Timeout":30000000000,"Retries":3}"#
    );
    st.ok(&["create", "--name", "plain", "localhost/bb:1"]);
    assert_eq!(
        st.inspect("plain", "json .State.Health"),
        r#"{"Status":"","FailingStreak":0,"Log":null}"#
    );
    st.ok(&["rm", "-f", "-t", "0", "asked"]);
}
