//! The `tpc` command line: a thin layer over the `tpc` library.

fn main() {
    std::process::exit(2);
}
