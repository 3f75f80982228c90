//! `tokio-echo`: the reference echo server the kit's servers are compared with, written the
//! way a tokio user would: one task per connection on a multi-threaded runtime, a 64 KiB
//! buffer, `read` then `write_all`, Nagle off.

use std::error::Error;
use std::process::ExitCode;

use clap::Parser;
use netbench::target::resolve_loopback;
use netutil::cli::{Hint, StepExt};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// A tokio echo server on loopback, the reference peer of `bench/compare`.
#[derive(Parser)]
struct Args {
    /// The loopback address to listen on.
    #[arg(long, default_value = "127.0.0.1")]
    host: String,
    /// The port (0: the kernel picks a free one; the `listening on` line shows it).
    #[arg(short, long, default_value_t = 0)]
    port: u16,
    /// Worker threads (default: one per core).
    #[arg(short, long)]
    threads: Option<usize>,
}

fn main() -> ExitCode {
    let args = Args::parse();
    netutil::cli::finish(run(&args))
}

fn run(args: &Args) -> Result<(), Box<dyn Error>> {
    let addr = resolve_loopback(&format!("{}:{}", args.host, args.port))?;
    let mut builder = tokio::runtime::Builder::new_multi_thread();
    if let Some(threads) = args.threads {
        builder.worker_threads(threads.max(1));
    }
    let runtime = builder.enable_all().build().step("start the runtime")?;
    runtime.block_on(async {
        let listener = TcpListener::bind(addr)
            .await
            .step(format!("listen on {addr}"))
            .hint("pick another port with --port, or 0 for any free one")?;
        println!("tokio-echo listening on {}", listener.local_addr()?);
        loop {
            let (stream, _) = listener.accept().await.step("accept a connection")?;
            tokio::spawn(async move {
                let _ = echo(stream).await;
            });
        }
    })
}

async fn echo(mut stream: TcpStream) -> std::io::Result<()> {
    stream.set_nodelay(true)?;
    let mut buffer = vec![0; 64 * 1024];
    loop {
        let n = stream.read(&mut buffer).await?;
        if n == 0 {
            return Ok(());
        }
        stream.write_all(&buffer[..n]).await?;
    }
}
