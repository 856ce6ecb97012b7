//! Peak heap of a check with kernel checks on a file of many small policies
//! (issue 14): counted by this binary's allocator, in process, so that the
//! kernel's own cost (a fixed one) can be measured apart and taken off.
//! `bench/check_memory.sh` measures the peak RSS of `tpc check` at the
//! issue's full size; `tests/hostile_input.rs` caps `--no-kernel` runs.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};
use tpc::btf::KernelSelection;
use tpc::driver::{CheckOptions, KernelRequest};

/// The system allocator, counting the bytes alive and their peak.
struct Counting;

static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

fn grew(by: usize) {
    let live = LIVE.fetch_add(by, Ordering::Relaxed) + by;
    PEAK.fetch_max(live, Ordering::Relaxed);
}

#[expect(
    unsafe_code,
    reason = "a counting allocator forwards to the system one"
)]
// SAFETY: every call is forwarded unchanged to `System`, which upholds the
// `GlobalAlloc` contract; the counters do not touch the memory.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded with the caller's layout.
        let at = unsafe { System.alloc(layout) };
        if !at.is_null() {
            grew(layout.size());
        }
        at
    }

    unsafe fn dealloc(&self, at: *mut u8, layout: Layout) {
        // SAFETY: `at` came from `alloc` or `realloc` with this layout.
        unsafe { System.dealloc(at, layout) };
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
    }

    unsafe fn realloc(&self, at: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: forwarded with the caller's pointer, layout and size.
        let moved = unsafe { System.realloc(at, layout, new_size) };
        if !moved.is_null() {
            grew(new_size);
            LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
        }
        moved
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// `count` policies like those of `bench/check_memory.sh`.
fn many_policies(count: usize) -> String {
    (0..count)
        .map(|n| {
            format!(
                "apiVersion: cilium.io/v1alpha1\nkind: TracingPolicy\nmetadata:\n  name: policy-{n}\nspec:\n  kprobes:\n  - call: sys_openat\n    syscall: true\n    args:\n    - index: 1\n      type: string\n    selectors:\n    - matchArgs:\n      - index: 1\n        operator: Prefix\n        values:\n        - \"/etc/{n}/\"\n      matchActions:\n      - action: Post\n---\n"
            )
        })
        .collect()
}

/// The peak of the bytes `tpc check` (findings only, on carried 6.18)
/// allocates for `text`, above what was alive before (the text itself).
fn peak_checking(text: String) -> usize {
    let options = CheckOptions {
        kernels: KernelRequest::Selected(vec![KernelSelection::Carried("6.18".to_string())]),
        findings_only: true,
        ..CheckOptions::default()
    };
    let sources = vec![("many.yaml".to_string(), text)];
    let before = LIVE.load(Ordering::Relaxed);
    PEAK.store(before, Ordering::Relaxed);
    let report = tpc::driver::check_sources_with(sources, &options);
    let peak = PEAK.load(Ordering::Relaxed) - before;
    assert_eq!(report.kernels.len(), 1);
    assert!(
        report.diagnostics.is_empty(),
        "{:?}",
        report.diagnostics.first()
    );
    assert_eq!(report.policies.len(), 0);
    peak
}

/// With kernel checks each policy's IR goes once it is checked on the
/// kernel, so the file's text and what the check keeps of it stay within
/// ten times its size once the kernel's fixed cost (a check of one policy)
/// is taken off. Keeping every policy's IR for the kernel checks took about
/// 12 times.
#[test]
fn kernel_checks_on_many_documents_stay_within_ten_times_their_size() {
    // The carried database is decoded once per process: not counted.
    peak_checking(many_policies(1));
    let kernel = peak_checking(many_policies(1));
    let text = many_policies(3_000);
    let size = text.len();
    let peak = peak_checking(text);
    let ratio = (size + peak.saturating_sub(kernel)) as f64 / size as f64;
    assert!(
        ratio <= 10.0,
        "{size} bytes of policies: {peak} bytes at the peak, {kernel} for the kernel: {ratio:.1}x"
    );
    eprintln!("{size} bytes of policies: {ratio:.1}x with the kernel's {kernel} bytes taken off");
}
