//! The `mfa-annotate` binary: all the work is in the library; the command line is in `cli`.

mod cli;

fn main() -> std::process::ExitCode {
    cli::main()
}
