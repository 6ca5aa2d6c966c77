use std::process::ExitCode;

use clap::Parser;
use seatline::config::{Cli, Command};
use seatline::startup::{Application, migrate};
use seatline::{graphql, shutdown, telemetry};

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    telemetry::init(std::io::stdout);
    let result = match cli.command.unwrap_or(Command::Serve) {
        Command::Schema => {
            print!("{}", graphql::sdl());
            Ok(())
        }
        Command::Migrate => migrate(&cli.settings).await.map(|_| ()),
        Command::Serve => match Application::build(cli.settings).await {
            Ok(app) => app.run_until_stopped(shutdown::on_signal()).await,
            Err(err) => Err(err),
        },
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            tracing::error!("{err}");
            ExitCode::FAILURE
        }
    }
}
