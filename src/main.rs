//! The `lanyard` command.

use std::process::ExitCode;

/// mimalloc instead of the system allocator: glibc's malloc, with its arena locks and
/// consolidation, was about a tenth of the CPU time of a loaded Lanyard (see
/// BENCHMARKS.md, "Applications: load tool").
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    lanyard::cli::main()
}
