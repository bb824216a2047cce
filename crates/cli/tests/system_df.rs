//! `system df` counts what is there and what is used, as podman does; and an
//! image's size (`images`, `image inspect`, `system df`) is its layers
//! unpacked, whichever compression brought them in.

mod common;
mod support;

use common::json;
use common::store::TestStore;
use support::registry::Registry;

/// `system df --format TEMPLATE`, one line per row.
fn df_lines(st: &TestStore, template: &str) -> Vec<String> {
    st.ok(&["system", "df", "--format", template])
        .stdout
        .lines()
        .map(String::from)
        .collect()
}

fn size_of_image(st: &TestStore, image: &str) -> u64 {
    st.ok(&["image", "inspect", "--format", "{{.Size}}", image])
        .stdout
        .trim()
        .parse()
        .unwrap()
}

/// Each container's written bytes (podman's `Size.rwSize`), by name.
fn rw_sizes(st: &TestStore) -> std::collections::HashMap<String, u64> {
    let ps = json(&st.ok(&["ps", "-a", "-s", "--format", "json"]).stdout);
    ps.as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["Names"][0].as_str().unwrap().to_string(),
                c["Size"]["rwSize"].as_u64().unwrap(),
            )
        })
        .collect()
}

/// Two images (one used by both containers, one by none), two containers (one
/// running), two volumes (one named by the stopped container).
#[test]
fn system_df_counts_active_images_containers_and_volumes() {
    let st = TestStore::with_busybox();
    st.ok(&[
        "run",
        "--name",
        "w",
        "localhost/bb:1",
        "sh",
        "-c",
        "head -c 20000 /dev/zero > /big",
    ]);
    st.ok(&["commit", "w", "localhost/second:1"]);
    st.ok(&["rm", "w"]);
    st.ok(&["volume", "create", "used"]);
    st.ok(&["volume", "create", "spare"]);
    st.ok(&[
        "run",
        "--rm",
        "-v",
        "spare:/d",
        "localhost/bb:1",
        "sh",
        "-c",
        "head -c 7000 /dev/zero > /d/f",
    ]);
    st.ok(&[
        "run",
        "--name",
        "down",
        "-v",
        "used:/data",
        "localhost/bb:1",
        "sh",
        "-c",
        "head -c 5000 /dev/zero > /data/f; head -c 3000 /dev/zero > /rw",
    ]);
    st.ok(&[
        "run",
        "-d",
        "--name",
        "up",
        "localhost/bb:1",
        "sleep",
        "1000",
    ]);

    assert_eq!(
        df_lines(&st, "{{.Type}}:{{.Total}}:{{.Active}}"),
        ["Images:2:1", "Containers:2:1", "Local Volumes:2:1"]
    );

    let df = json(&st.ok(&["system", "df", "--format", "json"]).stdout);
    let (bb, second) = (
        size_of_image(&st, "localhost/bb:1"),
        size_of_image(&st, "localhost/second:1"),
    );
    assert!(second > bb, "the commit adds a layer: {second} <= {bb}");
    assert_eq!(df[0]["RawSize"], bb + second, "{df}");
    assert_eq!(df[0]["RawReclaimable"], second, "{df}");
    let rw = rw_sizes(&st);
    assert!(rw["down"] >= 3000, "{rw:?}");
    assert_eq!(df[1]["RawSize"], rw["down"] + rw["up"], "{df}");
    assert_eq!(df[1]["RawReclaimable"], rw["down"], "{df}");
    assert_eq!(df[2]["RawSize"], 12000, "{df}");
    assert_eq!(df[2]["RawReclaimable"], 7000, "{df}");
    assert_eq!(df[2]["Size"], "12kB", "{df}");
    assert_eq!(df[2]["Reclaimable"], "7kB (58%)", "{df}");

    // The table: podman's columns, one row per type.
    let table = st.ok(&["system", "df"]).stdout;
    let rows: Vec<Vec<&str>> = table
        .lines()
        .map(|l| l.split_whitespace().collect())
        .collect();
    assert_eq!(rows[0], ["TYPE", "TOTAL", "ACTIVE", "SIZE", "RECLAIMABLE"]);
    assert_eq!(rows[1][..3], ["Images", "2", "1"], "{table}");
    assert_eq!(rows[2][..3], ["Containers", "2", "1"], "{table}");
    assert_eq!(
        rows[3],
        ["Local", "Volumes", "2", "1", "12kB", "7kB", "(58%)"],
        "{table}"
    );

    // -v: each image, container and volume.
    let v = st.ok(&["system", "df", "-v"]).stdout;
    let line = |start: &str| -> Vec<String> {
        v.lines()
            .find(|l| l.starts_with(start))
            .unwrap_or_else(|| panic!("no {start} line in:\n{v}"))
            .split_whitespace()
            .map(String::from)
            .collect()
    };
    assert!(v.starts_with("Images space usage:\n\nREPOSITORY"), "{v}");
    assert!(
        v.contains("\nContainers space usage:\n\nCONTAINER ID"),
        "{v}"
    );
    assert!(
        v.contains("\nLocal Volumes space usage:\n\nVOLUME NAME"),
        "{v}"
    );
    assert_eq!(line("localhost/bb ").last().unwrap(), "2", "{v}");
    assert_eq!(line("localhost/second ").last().unwrap(), "0", "{v}");
    let id = |name: &str| st.inspect(name, ".Id")[..12].to_string();
    let down = line(&id("down"));
    assert_eq!(down[down.len() - 2..], ["exited", "down"], "{v}");
    let up = line(&id("up"));
    assert_eq!(up[up.len() - 2..], ["running", "up"], "{v}");
    assert_eq!(line("used "), ["used", "1", "5kB"], "{v}");
    assert_eq!(line("spare "), ["spare", "0", "7kB"], "{v}");

    let r = st.run(&["system", "df", "-v", "--format", "json"]);
    assert_eq!(r.code, 125, "{}", r.stderr);
}

/// `images` and `history` show an image's layers unpacked: pushed gzipped to a registry and
/// pulled back into another store, it has the size it had when imported.
#[test]
fn a_pulled_image_has_its_unpacked_size() {
    let reg = Registry::start().expect("registry");
    let st = TestStore::with_busybox();
    let name = format!("{}/lib/bb:1", reg.addr());
    st.ok(&[
        "push",
        "-q",
        "--tls-verify=false",
        "--compression-format",
        "gzip",
        "localhost/bb:1",
        &name,
    ]);
    let other = TestStore {
        dir: tempfile::tempdir().unwrap(),
    };
    other.ok(&["pull", "-q", "--tls-verify=false", &name]);

    let tar_size = berth_testkit::fixtures::busybox_layer().len() as u64;
    let table_size = |st: &TestStore| {
        let t = st.ok(&["images"]).stdout;
        let head = t.lines().next().unwrap();
        let col = head.find("SIZE").unwrap();
        t.lines().nth(1).unwrap()[col..].trim().to_string()
    };
    let want = table_size(&st);
    for (st, image) in [(&st, "localhost/bb:1"), (&other, name.as_str())] {
        assert_eq!(size_of_image(st, image), tar_size, "{image}");
        let list = json(&st.ok(&["images", "--format", "json"]).stdout);
        assert_eq!(list[0]["Size"], tar_size, "{image}");
        assert_eq!(table_size(st), want, "{image}");
        assert_eq!(df_lines(st, "{{.RawSize}}")[0], tar_size.to_string());
        // history too: each layer as unpacked, not as the registry sent it.
        let h = st.ok(&["history", "-H=false", "--format", "{{.Size}}", image]);
        assert_eq!(h.stdout.trim(), tar_size.to_string(), "{image}");
    }
}
