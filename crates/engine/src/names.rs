//! Names for containers created without `--name`: `adjective_noun`, as podman and
//! docker give them, so that users can refer to a container without its ID.

const ADJECTIVES: [&str; 78] = [
    "agile", "bold", "brave", "bright", "brisk", "calm", "candid", "cheerful", "clever", "cosy",
    "crisp", "daring", "deft", "eager", "earnest", "fair", "fearless", "fond", "frank", "gallant",
    "gentle", "glad", "golden", "graceful", "happy", "hardy", "hearty", "honest", "humble",
    "jolly", "jovial", "keen", "kind", "lively", "loyal", "lucid", "mellow", "merry", "mighty",
    "modest", "nimble", "noble", "patient", "placid", "plucky", "polite", "proud", "quick",
    "quiet", "radiant", "rapid", "ready", "robust", "rosy", "serene", "sharp", "shy", "sincere",
    "smooth", "snug", "spry", "stable", "steady", "stoic", "sturdy", "sunny", "swift", "tender",
    "tidy", "tranquil", "trusty", "upbeat", "valiant", "vivid", "warm", "wise", "witty", "zealous",
];

const NOUNS: [&str; 90] = [
    "anchor",
    "atoll",
    "bay",
    "beacon",
    "berth",
    "bilge",
    "bollard",
    "bow",
    "breeze",
    "brig",
    "buoy",
    "cabin",
    "canal",
    "cape",
    "capstan",
    "cargo",
    "channel",
    "clipper",
    "coast",
    "compass",
    "cove",
    "crane",
    "current",
    "cutter",
    "davit",
    "delta",
    "dinghy",
    "dock",
    "dory",
    "estuary",
    "ferry",
    "fjord",
    "fleet",
    "galley",
    "gangway",
    "gull",
    "harbor",
    "hawser",
    "helm",
    "hull",
    "inlet",
    "island",
    "jetty",
    "keel",
    "kelp",
    "ketch",
    "lagoon",
    "lantern",
    "launch",
    "lighthouse",
    "lock",
    "mainsail",
    "marina",
    "mast",
    "mooring",
    "narrows",
    "oar",
    "outrigger",
    "paddle",
    "pier",
    "pilot",
    "port",
    "quay",
    "raft",
    "reef",
    "rigging",
    "rope",
    "rudder",
    "sail",
    "schooner",
    "shoal",
    "skiff",
    "sloop",
    "sound",
    "spar",
    "squall",
    "starboard",
    "stern",
    "strait",
    "tanker",
    "tide",
    "tiller",
    "trawler",
    "tug",
    "wake",
    "wave",
    "wharf",
    "winch",
    "yacht",
    "yawl",
];

/// A name not yet `taken`; after a few collisions a number is appended.
pub fn generate(taken: impl Fn(&str) -> bool) -> String {
    let mut seed = seed();
    for attempt in 0..64u64 {
        seed = seed
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        let a = ADJECTIVES[(seed >> 33) as usize % ADJECTIVES.len()];
        let n = NOUNS[(seed >> 17) as usize % NOUNS.len()];
        let name = if attempt < 8 {
            format!("{a}_{n}")
        } else {
            format!("{a}_{n}{}", attempt)
        };
        if !taken(&name) {
            return name;
        }
    }
    format!("berth_{}", seed)
}

fn seed() -> u64 {
    let t = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0);
    t ^ u64::from(std::process::id()).rotate_left(32)
}

#[cfg(test)]
mod tests {
    #[test]
    fn avoids_taken_names() {
        let taken = super::generate(|_| false);
        let other = super::generate(|n| n == taken);
        assert_ne!(taken, other);
        assert!(other.contains('_'));
    }
}
