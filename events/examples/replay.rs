//! Reads a file of Tetragon events and prints how many there are of each
//! kind, how many failed to load (with the first few errors), and the
//! throughput. `cargo run --release -p tpc-events --example replay -- FILE`.

use std::collections::BTreeMap;
use std::time::Instant;

use tpc_events::EventReader;

fn main() -> std::process::ExitCode {
    let Some(path) = std::env::args_os().nth(1) else {
        eprintln!("usage: replay FILE");
        return std::process::ExitCode::FAILURE;
    };
    let reader = match EventReader::open(&path) {
        Ok(reader) => reader,
        Err(error) => {
            eprintln!("cannot open {}: {error}", path.to_string_lossy());
            return std::process::ExitCode::FAILURE;
        }
    };
    let start = Instant::now();
    let mut kinds: BTreeMap<String, u64> = BTreeMap::new();
    let mut errors = 0_u64;
    for (position, result) in reader {
        match result {
            Ok(event) => *kinds.entry(event.kind_key().to_owned()).or_default() += 1,
            Err(error) => {
                errors += 1;
                if errors <= 5 {
                    eprintln!("{position}: {error}");
                }
            }
        }
    }
    let seconds = start.elapsed().as_secs_f64();
    let events: u64 = kinds.values().sum();
    for (kind, count) in &kinds {
        println!("{kind}: {count}");
    }
    println!("errors: {errors}");
    println!(
        "{events} events in {seconds:.3} s = {:.0} events/s",
        events as f64 / seconds
    );
    std::process::ExitCode::SUCCESS
}
