//! A bridge network's firewall rules, each batch given to one
//! `iptables-restore --noflush` (netavark 1.4 runs one `iptables` a rule, ~40
//! for a container's start and stop; this is one a step).
//!
//! Per network (while it has containers): its traffic out is masqueraded
//! (`BERTH-N-ID` from POSTROUTING) and forwarded (`BERTH-F-ID` first in
//! FORWARD: replies, the network's own, and published ports' DNAT). Per
//! container with published ports: DNAT to it (`BERTH-D-ID` from PREROUTING
//! and OUTPUT, local destinations only) and masquerading of what reaches it
//! from the host's loopback or its own network (`BERTH-M-ID`).

use std::io::Write;
use std::process::{Command, Stdio};

use super::super::{Network, NetworkError, PortMapping};

/// A chain name's ID part: 12 hex digits of a network's or a container's ID
/// (iptables allows 28 characters).
fn short(id: &str) -> &str {
    &id[..12.min(id.len())]
}

/// The network's chains: `BERTH-N-…` (nat) and `BERTH-F-…` (filter), named by
/// `key` (the network in its store: two stores' networks of one name never
/// share rules).
pub fn network_chains(key: &str) -> (String, String) {
    (
        format!("BERTH-N-{}", short(key)),
        format!("BERTH-F-{}", short(key)),
    )
}

/// The rules as they are (`iptables-save` of the nat and filter tables, in
/// its canonical form), read once a step: a network's rules are checked at
/// every start, so that a flushed firewall (firewalld's reload, an
/// administrator's `iptables -F`) gets them back; "" when it cannot be read.
pub fn current() -> String {
    Command::new("iptables-save")
        .env("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")
        .stderr(Stdio::null())
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
        .unwrap_or_default()
}

/// Whether every rule of `batch` is in `current` (a chain's declaration,
/// at least, for a batch that declares one).
pub fn all_present(batch: &str, current: &str) -> bool {
    batch.lines().all(|l| {
        if let Some(chain) = l.strip_prefix(':') {
            let name = chain.split(' ').next().unwrap_or_default();
            current.contains(&format!(":{name} "))
        } else if let Some(rule) = l.strip_prefix("-I ").or_else(|| l.strip_prefix("-A ")) {
            current.lines().any(|c| c == format!("-A {rule}"))
        } else {
            true
        }
    })
}

/// Whether `current` has anything of a batch's chains (a declaration or a
/// jump), which must go before the batch is given again.
pub fn any_present(batch: &str, current: &str) -> bool {
    batch
        .lines()
        .filter_map(|l| l.strip_prefix(':'))
        .filter_map(|c| c.split(' ').next())
        .any(|name| {
            current.contains(&format!(":{name} ")) || current.contains(&format!("-j {name}\n"))
        })
}

/// The rules that make `net` reach out (none for an internal network).
/// With it, what reaches the bridge for 127.0.0.0/8 and was not published
/// there (DNAT) is dropped: `route_localnet`, which published ports on
/// 127.0.0.1 need, would otherwise let a container with raw sockets reach the
/// host's loopback services (CVE-2020-8558, kube-proxy's rule).
pub fn network_rules(net: &Network, key: &str) -> String {
    let (subnet, br) = (&net.subnet, &net.bridge);
    let (n, f) = network_chains(key);
    format!(
        "*nat\n:{n} - [0:0]\n-A POSTROUTING -s {subnet} -j {n}\n\
         -A {n} -d {subnet} -j ACCEPT\n-A {n} ! -d 224.0.0.0/4 -j MASQUERADE\nCOMMIT\n\
         *filter\n:{f} - [0:0]\n-I FORWARD -j {f}\n\
         -I INPUT -d 127.0.0.0/8 -i {br} -m conntrack ! --ctstate RELATED,ESTABLISHED,DNAT -j DROP\n\
         -A {f} -d {subnet} -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT\n\
         -A {f} -d {subnet} -m conntrack --ctstate DNAT -j ACCEPT\n\
         -A {f} -s {subnet} -j ACCEPT\nCOMMIT\n"
    )
}

/// Undoes [`network_rules`].
pub fn remove_network_rules(net: &Network, key: &str) -> String {
    let (subnet, br) = (&net.subnet, &net.bridge);
    let (n, f) = network_chains(key);
    format!(
        "*nat\n-D POSTROUTING -s {subnet} -j {n}\n-F {n}\n-X {n}\nCOMMIT\n\
         *filter\n-D FORWARD -j {f}\n\
         -D INPUT -d 127.0.0.0/8 -i {br} -m conntrack ! --ctstate RELATED,ESTABLISHED,DNAT -j DROP\n\
         -F {f}\n-X {f}\nCOMMIT\n"
    )
}

/// The chains of `-o isolate=true`, shared by every isolated network (of
/// any store): netavark's two stages. The first takes what leaves an
/// isolated bridge for another interface; the second drops it when that is
/// another isolated bridge.
const ISOLATE_1: &str = "BERTH-ISOLATE-1";
const ISOLATE_2: &str = "BERTH-ISOLATE-2";

fn isolation(net: &Network) -> [String; 2] {
    let br = &net.bridge;
    [
        format!("-A {ISOLATE_1} -i {br} ! -o {br} -j {ISOLATE_2}"),
        format!("-A {ISOLATE_2} -o {br} -j DROP"),
    ]
}

/// Whether the isolated network's rules are all there, its jump first in
/// FORWARD's chains.
pub fn isolation_present(net: &Network, current: &str) -> bool {
    let jump = format!("-A FORWARD -j {ISOLATE_1}");
    let first = current.lines().find(|l| l.starts_with("-A FORWARD "));
    first == Some(jump.as_str())
        && isolation(net)
            .iter()
            .all(|r| current.lines().any(|l| l == r))
}

/// `-o isolate=true`: no traffic between this network and the other isolated
/// ones (as netavark's `isolate`). `current` says what is there already: the
/// shared chains are declared only when missing (a declaration empties a
/// chain), and the jump to them is put back first in FORWARD, above the
/// networks' own chains, which accept their traffic. Given after
/// [`network_rules`].
pub fn isolation_rules(net: &Network, current: &str) -> String {
    let mut r = String::from("*filter\n");
    for c in [ISOLATE_1, ISOLATE_2] {
        if !current.contains(&format!(":{c} ")) {
            r.push_str(&format!(":{c} - [0:0]\n"));
        }
    }
    let jump = format!("-A FORWARD -j {ISOLATE_1}");
    if current.lines().any(|l| l == jump) {
        r.push_str(&format!("-D FORWARD -j {ISOLATE_1}\n"));
    }
    r.push_str(&format!("-I FORWARD -j {ISOLATE_1}\n"));
    for rule in isolation(net) {
        if !current.lines().any(|l| l == rule) {
            r.push_str(&rule);
            r.push('\n');
        }
    }
    r.push_str("COMMIT\n");
    r
}

/// Undoes [`isolation_rules`] for one network (the shared chains and their
/// jump stay, empty of it).
pub fn remove_isolation_rules(net: &Network) -> String {
    let [a, b] = isolation(net);
    format!(
        "*filter\n{}\n{}\nCOMMIT\n",
        a.replacen("-A ", "-D ", 1),
        b.replacen("-A ", "-D ", 1)
    )
}

/// DNAT of `ports` to `ip`, and masquerading where replies would otherwise
/// miss their way back (loopback clients, hairpin from the same network).
pub fn port_rules(container: &str, net: &Network, ip: &str, ports: &[PortMapping]) -> String {
    let (d, m) = chains(container);
    let mut dnat = String::new();
    let mut masq = String::new();
    for p in ports {
        let dst = match p.firewall_host_ip() {
            "" => String::new(),
            a => format!(" -d {a}"),
        };
        let (proto, hp, cp) = (&p.protocol, p.host_port, p.container_port);
        dnat.push_str(&format!(
            "-A {d} -p {proto}{dst} --dport {hp} -j DNAT --to-destination {ip}:{cp}\n"
        ));
        for src in ["127.0.0.1", net.subnet.as_str()] {
            masq.push_str(&format!(
                "-A {m} -s {src} -d {ip} -p {proto} --dport {cp} -j MASQUERADE\n"
            ));
        }
    }
    format!(
        "*nat\n:{d} - [0:0]\n:{m} - [0:0]\n\
         -A PREROUTING -m addrtype --dst-type LOCAL -j {d}\n\
         -A OUTPUT -m addrtype --dst-type LOCAL -j {d}\n-A POSTROUTING -j {m}\n\
         {dnat}{masq}COMMIT\n"
    )
}

/// Undoes [`port_rules`].
pub fn remove_port_rules(container: &str) -> String {
    let (d, m) = chains(container);
    format!(
        "*nat\n-D PREROUTING -m addrtype --dst-type LOCAL -j {d}\n\
         -D OUTPUT -m addrtype --dst-type LOCAL -j {d}\n-D POSTROUTING -j {m}\n\
         -F {d}\n-X {d}\n-F {m}\n-X {m}\nCOMMIT\n"
    )
}

fn chains(container: &str) -> (String, String) {
    let c = short(container);
    (format!("BERTH-D-{c}"), format!("BERTH-M-{c}"))
}

/// Gives `rules` to `iptables-restore --noflush` (in the calling thread's
/// network namespace: run from [`super::netlink::in_netns`]).
pub fn apply(rules: &str) -> Result<(), NetworkError> {
    let fail = |why: String| NetworkError::Firewall(why);
    let mut child = Command::new("iptables-restore")
        .args(["--noflush", "--wait"])
        .env("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| fail(format!("iptables-restore (Debian's iptables package): {e}")))?;
    let wrote = child
        .stdin
        .take()
        .expect("piped")
        .write_all(rules.as_bytes());
    let out = child
        .wait_with_output()
        .map_err(|e| fail(format!("iptables-restore: {e}")))?;
    if let Err(e) = wrote {
        return Err(fail(format!("iptables-restore: {e}")));
    }
    if out.status.success() {
        return Ok(());
    }
    let why = String::from_utf8_lossy(&out.stderr);
    Err(fail(format!(
        "iptables-restore: {}",
        why.lines().next().unwrap_or("failed")
    )))
}

/// Undoes a batch of removals: as one batch, else (something of it was gone
/// already) line by line, each table's lines on their own, so that what is
/// still there goes.
pub fn remove(rules: &str) {
    if apply(rules).is_ok() {
        return;
    }
    let mut table = "";
    for line in rules.lines() {
        if let Some(t) = line.strip_prefix('*') {
            table = t;
        } else if line.starts_with('-') {
            let _ = apply(&format!("*{table}\n{line}\nCOMMIT\n"));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn net() -> Network {
        Network {
            name: "web".into(),
            bridge: "berth3".into(),
            subnet: "10.89.3.0/24".into(),
            dns_enabled: true,
            ..Default::default()
        }
    }

    #[test]
    fn a_ports_rules_name_its_address_and_only_the_host_address_asked() {
        let ports = [
            PortMapping::parse("127.0.0.1:8080:80").unwrap(),
            PortMapping::parse("5353:53/udp").unwrap(),
        ];
        let r = port_rules("0123456789abcdef", &net(), "10.89.3.2", &ports);
        assert!(r.contains(
            "-A BERTH-D-0123456789ab -p tcp -d 127.0.0.1 --dport 8080 -j DNAT --to-destination 10.89.3.2:80\n"
        ), "{r}");
        // The wildcard is no -d at all (every local address).
        assert!(r.contains(
            "-A BERTH-D-0123456789ab -p udp --dport 5353 -j DNAT --to-destination 10.89.3.2:53\n"
        ), "{r}");
        assert!(r.contains(
            "-A BERTH-M-0123456789ab -s 10.89.3.0/24 -d 10.89.3.2 -p tcp --dport 80 -j MASQUERADE\n"
        ));
        // Every jump added is one removed.
        let undo = remove_port_rules("0123456789abcdef");
        for add in r
            .lines()
            .filter(|l| l.starts_with("-A ") && !l.starts_with("-A BERTH"))
        {
            assert!(
                undo.contains(&add.replacen("-A ", "-D ", 1)),
                "{add} is never undone"
            );
        }
    }

    #[test]
    fn isolation_declares_only_missing_chains_and_puts_its_jump_first() {
        let fresh = isolation_rules(&net(), "");
        assert!(fresh.contains(":BERTH-ISOLATE-1 - [0:0]\n"), "{fresh}");
        assert!(fresh.contains("-I FORWARD -j BERTH-ISOLATE-1\n"), "{fresh}");
        assert!(!fresh.contains("-D FORWARD"), "{fresh}");
        assert!(fresh.contains("-A BERTH-ISOLATE-1 -i berth3 ! -o berth3 -j BERTH-ISOLATE-2\n"));
        assert!(fresh.contains("-A BERTH-ISOLATE-2 -o berth3 -j DROP\n"));
        // Another network's chain above the jump: the jump moves up again,
        // the chains (with others' rules) are not declared again.
        let now = "*filter\n:BERTH-ISOLATE-1 - [0:0]\n:BERTH-ISOLATE-2 - [0:0]\n\
                   -A FORWARD -j BERTH-F-x\n-A FORWARD -j BERTH-ISOLATE-1\n";
        let again = isolation_rules(&net(), now);
        assert!(!again.contains(":BERTH-ISOLATE"), "{again}");
        assert!(again.contains("-D FORWARD -j BERTH-ISOLATE-1\n-I FORWARD -j BERTH-ISOLATE-1\n"));
        assert!(!isolation_present(&net(), now));
        let undo = remove_isolation_rules(&net());
        assert!(
            undo.contains("-D BERTH-ISOLATE-2 -o berth3 -j DROP\n"),
            "{undo}"
        );
    }

    #[test]
    fn a_networks_rules_are_undone_rule_for_rule() {
        let add = network_rules(&net(), "0123456789abcdef");
        let undo = remove_network_rules(&net(), "0123456789abcdef");
        assert!(add.contains(":BERTH-N-0123456789ab - [0:0]"), "{add}");
        for l in add
            .lines()
            .filter(|l| l.starts_with("-A POSTROUTING") || l.starts_with("-I "))
        {
            let d = l.replacen("-A ", "-D ", 1).replacen("-I ", "-D ", 1);
            assert!(undo.contains(&d), "{l} is never undone");
        }
    }
}
