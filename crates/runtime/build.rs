// berth-oci's start-up cost is the product (issue: runtime start-up), and the
// dynamic loader's share of it is large for a short-lived binary: link libgcc
// statically and build a non-PIE executable so ld.so has little left to relocate.
fn main() {
    println!("cargo:rustc-link-arg-bin=berth-oci=-static-libgcc");
    println!("cargo:rustc-link-arg-bin=berth-oci=-no-pie");
}
