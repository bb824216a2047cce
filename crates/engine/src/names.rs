//! Names for containers created without `--name`: `adjective_noun`, as podman and
//! docker give them, so that users can refer to a container without its ID.

const ADJECTIVES: [&str; 24] = [
    "agile", "bold", "brave", "calm", "clever", "eager", "fair", "gentle", "happy", "keen", "kind",
    "lively", "lucid", "merry", "nimble", "patient", "quiet", "quick", "serene", "sharp", "steady",
    "swift", "tidy", "witty",
];

const NOUNS: [&str; 24] = [
    "anchor", "barge", "buoy", "cabin", "canal", "cargo", "dock", "ferry", "harbor", "helm",
    "hull", "jetty", "keel", "lantern", "mast", "mooring", "pier", "quay", "rudder", "sail",
    "schooner", "tide", "wharf", "yacht",
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
