//! Writes a fixture image as an OCI layout, for benchmarks and demos:
//! `berth-fixture small|multi-arch|special|five-layer OUT [SCALE]`.

use std::path::Path;

use berth_testkit::fixtures;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let (Some(kind), Some(out)) = (args.get(1), args.get(2)) else {
        eprintln!("usage: berth-fixture small|multi-arch|special|five-layer OUT [SCALE]");
        std::process::exit(2);
    };
    let out = Path::new(out);
    let r = match kind.as_str() {
        "small" => fixtures::small(out),
        "multi-arch" => fixtures::multi_arch(out),
        "special" => fixtures::special(out),
        "five-layer" => {
            let scale = match args.get(3).map(|s| s.parse::<f64>()) {
                None => 1.0,
                Some(Ok(s)) if s > 0.0 => s,
                Some(_) => {
                    eprintln!("berth-fixture: SCALE must be a positive number");
                    std::process::exit(2);
                }
            };
            fixtures::five_layer(out, scale)
        }
        other => {
            eprintln!("berth-fixture: unknown fixture {other:?}");
            std::process::exit(2);
        }
    };
    match r {
        Ok(f) => println!("{}", f.manifest_digest),
        Err(e) => {
            eprintln!("berth-fixture: {}: {e}", out.display());
            std::process::exit(1);
        }
    }
}
