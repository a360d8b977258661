use std::process::ExitCode;

fn main() -> ExitCode {
    hubl::cmd::main()
}
