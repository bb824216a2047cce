fn main() {
    eprintln!("berth-oci: not implemented yet");
    std::process::exit(1);
}
