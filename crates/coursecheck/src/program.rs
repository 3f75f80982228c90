//! The program under test as a child process: started with `{port}`/`{host}` filled in, its
//! output captured in the background, and always killed and reaped at the end.

use std::io::{Read, Write};
use std::net::{Ipv4Addr, TcpListener};
use std::process::{Child, ChildStdin, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use crate::{Lang, Options, tr};

/// The loopback address every program under test talks to.
pub(crate) const HOST: Ipv4Addr = Ipv4Addr::LOCALHOST;

/// Every program running now, so Ctrl-C of the checker can stop them (see [`stop_all_programs`]).
static RUNNING: Mutex<Vec<Arc<Mutex<Child>>>> = Mutex::new(Vec::new());

/// Kills and reaps every program the checker has started and not yet stopped. The binary
/// calls it from its Ctrl-C handler, so no server is left behind holding a port.
pub fn stop_all_programs() {
    let running = RUNNING.lock().map(|list| list.clone()).unwrap_or_default();
    for child in running {
        if let Ok(mut child) = child.lock() {
            kill(&mut child);
        }
    }
}

/// Kills `child` (and, on Unix, everything it started: it leads its own process group) and
/// waits for it, so it does not stay a zombie.
fn kill(child: &mut Child) {
    #[cfg(unix)]
    {
        // A shell script or `npm start` starts the real server as a grandchild: killing the
        // whole group reaches it too. -pid names the group the child leads.
        if let Ok(pid) = i32::try_from(child.id()) {
            // SAFETY: kill(2) takes plain integers and touches no memory of ours.
            unsafe {
                libc::kill(-pid, libc::SIGKILL);
            }
        }
    }
    let _ = child.kill();
    let _ = child.wait();
}

/// How a program ended, in the report's language: "exit code 1", "signal 9".
pub(crate) fn describe_status(status: ExitStatus, lang: Lang) -> String {
    if let Some(code) = status.code() {
        return tr!(lang, "exit code {}", "código de salida {}", code);
    }
    #[cfg(unix)]
    {
        use std::os::unix::process::ExitStatusExt;
        if let Some(signal) = status.signal() {
            return tr!(lang, "signal {}", "la señal {}", signal);
        }
    }
    status.to_string()
}

/// A port on 127.0.0.1 that was free a moment ago, for a server under test to bind.
pub(crate) fn free_tcp_port() -> std::io::Result<u16> {
    Ok(TcpListener::bind((HOST, 0))?.local_addr()?.port())
}

/// A program under test, running.
pub(crate) struct Program {
    child: Arc<Mutex<Child>>,
    stdout: Arc<Mutex<Vec<u8>>>,
    stderr: Arc<Mutex<Vec<u8>>>,
    status: Option<ExitStatus>,
    lang: Lang,
    /// The program's standard input, when the checker types into it.
    stdin: Option<ChildStdin>,
    /// Inside a grading sandbox: kill every process left in it when the program stops.
    #[cfg(unix)]
    sweep: bool,
}

impl Program {
    /// Starts `command` with `{port}` and `{host}` replaced in every word, reading nothing
    /// on its standard input.
    pub(crate) fn start(
        command: &[String],
        port: u16,
        options: &Options,
        lang: Lang,
    ) -> Result<Program, String> {
        Program::spawn(command, port, &[], options, lang, false)
    }

    /// [`Program::start`] with `fill`'s placeholders replaced too, as in [`Program::start_with`].
    pub(crate) fn start_filled(
        command: &[String],
        port: u16,
        fill: &[(&str, &str)],
        options: &Options,
        lang: Lang,
    ) -> Result<Program, String> {
        Program::spawn(command, port, fill, options, lang, false)
    }

    /// Like [`Program::start`], for a program that needs no port: each `(placeholder, value)`
    /// of `fill` (`{name}` → `localhost`) is replaced in every word, as `{port}` is.
    pub(crate) fn start_with(
        command: &[String],
        fill: &[(&str, &str)],
        options: &Options,
        lang: Lang,
    ) -> Result<Program, String> {
        Program::spawn(command, 0, fill, options, lang, false)
    }

    /// Like [`Program::start`], with the program's standard input ours to [`Program::type_in`]
    /// and [`Program::end_input`]: the keyboard of an interactive client.
    pub(crate) fn start_typing(
        command: &[String],
        port: u16,
        options: &Options,
        lang: Lang,
    ) -> Result<Program, String> {
        Program::spawn(command, port, &[], options, lang, true)
    }

    fn spawn(
        command: &[String],
        port: u16,
        fill: &[(&str, &str)],
        options: &Options,
        lang: Lang,
        typing: bool,
    ) -> Result<Program, String> {
        let words: Vec<String> = command
            .iter()
            .map(|word| {
                let mut word = word
                    .replace("{port}", &port.to_string())
                    .replace("{host}", &HOST.to_string());
                for (placeholder, value) in fill {
                    word = word.replace(placeholder, value);
                }
                word
            })
            .collect();
        let Some((program, args)) = words.split_first() else {
            return Err(tr!(
                lang,
                "No command to run: give it after `--`.",
                "No hay comando para ejecutar: escríbelo después de `--`."
            ));
        };
        let mut process = Command::new(program);
        process
            .args(args)
            .stdin(if typing {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            // Python buffers stdout in a pipe: without this a student's prints would show up
            // only at exit, and a killed server's never.
            .env("PYTHONUNBUFFERED", "1");
        if let Some(dir) = &options.workdir {
            process.current_dir(dir);
        }
        #[cfg(unix)]
        {
            use std::os::unix::process::CommandExt;
            // Its own process group, so `kill` reaches the grandchildren too, and the terminal's
            // Ctrl-C reaches only the checker, which then stops the program itself.
            process.process_group(0);
            if let Some(limits) = options.sandboxed {
                process.uid(limits.uid).gid(limits.uid);
                // SAFETY: the closure only calls setrlimit(2), which is async-signal-safe.
                unsafe {
                    process.pre_exec(move || limits.apply());
                }
            }
        }
        let mut child = process.spawn().map_err(|error| {
            tr!(
                lang,
                "Could not start `{}`: {}. Is the command right, and is it run from the right folder?",
                "No se pudo iniciar `{}`: {}. ¿El comando está bien escrito y se ejecuta desde la carpeta correcta?",
                program,
                error
            )
        })?;
        let stdout = collect(child.stdout.take());
        let stderr = collect(child.stderr.take());
        let stdin = child.stdin.take();
        let child = Arc::new(Mutex::new(child));
        if let Ok(mut running) = RUNNING.lock() {
            running.push(child.clone());
        }
        Ok(Program {
            child,
            stdout,
            stderr,
            status: None,
            lang,
            stdin,
            #[cfg(unix)]
            sweep: options.sandboxed.is_some(),
        })
    }

    /// The exit status, if the program has ended.
    pub(crate) fn exited(&mut self) -> Option<ExitStatus> {
        if self.status.is_none() {
            let mut child = self.child.lock().ok()?;
            self.status = child.try_wait().ok().flatten();
        }
        self.status
    }

    /// Waits until the program ends or `deadline` passes; its exit status if it ended.
    pub(crate) fn wait_until(&mut self, deadline: Instant) -> Option<ExitStatus> {
        loop {
            if let Some(status) = self.exited() {
                return Some(status);
            }
            if Instant::now() >= deadline {
                return None;
            }
            thread::sleep(Duration::from_millis(10));
        }
    }

    /// Types `bytes` on the program's standard input; false if it no longer reads it.
    pub(crate) fn type_in(&mut self, bytes: &[u8]) -> bool {
        self.stdin
            .as_mut()
            .is_some_and(|stdin| stdin.write_all(bytes).and_then(|()| stdin.flush()).is_ok())
    }

    /// Closes the program's standard input: end of input, as Ctrl-D at a terminal.
    pub(crate) fn end_input(&mut self) {
        self.stdin = None;
    }

    /// Waits until the program's stdout holds `expected` (from byte `from` on) or `deadline`
    /// passes; whether it came.
    pub(crate) fn wait_for_output(&self, expected: &[u8], from: usize, deadline: Instant) -> bool {
        loop {
            let stdout = self.stdout();
            if stdout
                .get(from..)
                .is_some_and(|new| new.windows(expected.len()).any(|w| w == expected))
            {
                return true;
            }
            if Instant::now() >= deadline {
                return false;
            }
            thread::sleep(Duration::from_millis(10));
        }
    }

    /// Everything the program has printed on stdout so far.
    pub(crate) fn stdout(&self) -> Vec<u8> {
        self.stdout
            .lock()
            .map(|bytes| bytes.clone())
            .unwrap_or_default()
    }

    /// Everything the program has printed on stderr so far.
    pub(crate) fn stderr(&self) -> Vec<u8> {
        self.stderr
            .lock()
            .map(|bytes| bytes.clone())
            .unwrap_or_default()
    }

    /// The program's last lines: up to `count` of stdout then of stderr, marked `out|`/`err|`.
    pub(crate) fn tail(&self, count: usize) -> Vec<String> {
        // Give the reader threads a moment to take what the program printed just before it ended.
        thread::sleep(Duration::from_millis(30));
        let mut lines = Vec::new();
        for (mark, sink) in [("out|", &self.stdout), ("err|", &self.stderr)] {
            let bytes = sink.lock().map(|bytes| bytes.clone()).unwrap_or_default();
            let text = String::from_utf8_lossy(&bytes);
            let all: Vec<&str> = text
                .lines()
                .filter(|line| !line.trim().is_empty())
                .collect();
            let start = all.len().saturating_sub(count);
            lines.extend(all[start..].iter().map(|line| {
                let line: String = line.chars().take(160).collect();
                format!("{mark} {line}")
            }));
        }
        if lines.is_empty() {
            lines.push(tr!(self.lang, "(nothing printed)", "(no imprimió nada)"));
        }
        lines
    }

    /// Kills and reaps the program (if it has not ended yet).
    pub(crate) fn stop(&mut self) {
        if let Ok(mut child) = self.child.lock() {
            kill(&mut child);
        }
        if let Ok(mut running) = RUNNING.lock() {
            running.retain(|other| !Arc::ptr_eq(other, &self.child));
        }
        #[cfg(unix)]
        if self.sweep {
            crate::sandbox::kill_everything_else();
        }
    }
}

impl Drop for Program {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Reads `pipe` to its end on a thread of its own, into a shared buffer: a program that
/// prints a lot never blocks on a full pipe, and what it printed is there even if it hangs.
fn collect(pipe: Option<impl Read + Send + 'static>) -> Arc<Mutex<Vec<u8>>> {
    let sink = Arc::new(Mutex::new(Vec::new()));
    if let Some(mut pipe) = pipe {
        let writer = sink.clone();
        thread::spawn(move || {
            let mut buffer = [0u8; 8192];
            while let Ok(count) = pipe.read(&mut buffer) {
                if count == 0 {
                    break;
                }
                if let Ok(mut bytes) = writer.lock() {
                    // A program that prints without end must not eat the checker's memory.
                    if bytes.len() < 16 * 1024 * 1024 {
                        bytes.extend_from_slice(&buffer[..count]);
                    }
                }
            }
        });
    }
    sink
}
