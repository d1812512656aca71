//! The `lanyard` command.

use std::process::ExitCode;

/// mimalloc instead of the system allocator: glibc's malloc, with its arena locks and
/// consolidation, was about a tenth of the CPU time of a loaded Lanyard (see
/// BENCHMARKS.md, "Applications: load tool"). Built without transparent huge pages
/// (`no_thp`): mimalloc backed its arenas with 2 MiB pages, which kept 6–10 MiB more
/// resident at start and after a burst of password sign-ins (BENCHMARKS.md, "Password
/// sign-ins and resident memory", where jemalloc was measured too).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    lanyard::cli::main()
}
