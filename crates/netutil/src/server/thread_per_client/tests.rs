use super::*;
use crate::server::{BindOptions, bind};
use std::io::{BufRead, BufReader, Read, Write};
use std::sync::mpsc;
use std::time::Instant;

/// A server on 127.0.0.1 that echoes lines, running on a thread.
fn start(server: impl FnOnce(ThreadPerClient) -> ThreadPerClient) -> (SocketAddr, Stop, Running) {
    let listener = bind("127.0.0.1:0".parse().unwrap(), &BindOptions::default()).unwrap();
    let server = server(ThreadPerClient::new(listener).unwrap());
    let addr = server.local_addr().unwrap();
    let handle = server.stop_handle();
    let running = thread::spawn(move || {
        server.serve(|stream, _| {
            let mut reader = BufReader::new(stream);
            let mut line = Vec::new();
            while reader.read_until(b'\n', &mut line)? > 0 {
                let mut writer = stream;
                writer.write_all(&line)?;
                line.clear();
            }
            Ok(())
        })
    });
    (addr, handle, running)
}

type Running = thread::JoinHandle<Summary>;

fn connect(addr: SocketAddr) -> (TcpStream, BufReader<TcpStream>) {
    let stream = TcpStream::connect(addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let reader = BufReader::new(stream.try_clone().unwrap());
    (stream, reader)
}

fn exchange(stream: &mut TcpStream, reader: &mut BufReader<TcpStream>, line: &str) -> String {
    stream.write_all(line.as_bytes()).unwrap();
    let mut reply = String::new();
    reader.read_line(&mut reply).unwrap();
    reply
}

fn read_all(reader: &mut BufReader<TcpStream>) -> Vec<u8> {
    let mut rest = Vec::new();
    reader.read_to_end(&mut rest).unwrap();
    rest
}

#[test]
fn client_over_the_cap_gets_the_busy_line_and_the_rest_keep_working() {
    let (addr, shutdown, running) = start(|server| server.max_clients(2));
    let (mut a, mut a_reader) = connect(addr);
    let (mut b, mut b_reader) = connect(addr);
    // A round trip each proves both were accepted (and counted) before the third comes.
    assert_eq!(exchange(&mut a, &mut a_reader, "a\n"), "a\n");
    assert_eq!(exchange(&mut b, &mut b_reader, "b\n"), "b\n");
    let (_c, mut c_reader) = connect(addr);
    assert_eq!(
        read_all(&mut c_reader),
        b"Server busy: too many clients, try again later\n"
    );
    assert_eq!(
        exchange(&mut a, &mut a_reader, "still here\n"),
        "still here\n"
    );
    drop((a, a_reader, b, b_reader));
    shutdown.request();
    let summary = running.join().unwrap();
    assert_eq!((summary.served, summary.turned_away), (2, 1));
}

#[test]
fn a_silent_client_is_dropped_after_the_idle_timeout() {
    let (failed_tx, failed) = mpsc::channel();
    let failed_tx = Mutex::new(failed_tx);
    let (addr, shutdown, running) = start(|server| {
        server
            .idle_timeout(Some(Duration::from_millis(300)))
            .on_event(move |event| {
                if let Event::ConnectionFailed { error, .. } = event {
                    let _ = failed_tx.lock().unwrap().send(is_timeout(error));
                }
            })
    });
    let started = Instant::now();
    let (_silent, mut reader) = connect(addr);
    assert_eq!(
        read_all(&mut reader),
        b"",
        "the server closes the connection"
    );
    assert!(started.elapsed() >= Duration::from_millis(300));
    assert_eq!(failed.recv_timeout(Duration::from_secs(5)), Ok(true));
    shutdown.request();
    running.join().unwrap();
}

#[test]
fn a_trickling_client_is_cut_off_after_one_window_and_told_why() {
    let (failed_tx, failed) = mpsc::channel();
    let failed_tx = Mutex::new(failed_tx);
    let rate = MinRate {
        bytes: 64,
        window: Duration::from_millis(1500),
    };
    let (addr, shutdown, running) = start(|server| {
        server
            .max_clients(1)
            .min_rate(Some(rate))
            .on_event(move |event| {
                let _ = failed_tx.lock().unwrap().send(event.to_string());
            })
    });
    let started = Instant::now();
    let (trickler, mut reader) = connect(addr);
    // One byte every 200 ms: never idle, but 8 bytes a window, far below 64.
    let sender = thread::spawn(move || {
        let mut trickler = trickler;
        while trickler.write_all(b"x").is_ok() && started.elapsed() < Duration::from_secs(10) {
            thread::sleep(Duration::from_millis(200));
        }
    });
    let said = String::from_utf8(read_all(&mut reader)).unwrap();
    let cut_after = started.elapsed();
    assert!(
        said.starts_with("Too slow: ") && said.ends_with(" fewer than the 64 required. Bye\n"),
        "{said:?}"
    );
    assert!(
        cut_after >= rate.window && cut_after < rate.window + Duration::from_secs(3),
        "cut off after {cut_after:?}"
    );
    let event = failed.recv_timeout(Duration::from_secs(5)).unwrap();
    assert!(event.contains("dropped: too slow: "), "{event}");
    // The seat comes free (the event may be reported a moment before the seat is given
    // back): a client that talks at a normal pace gets it within 2 s.
    let seated = Instant::now();
    loop {
        let (mut next, mut next_reader) = connect(addr);
        // A busy server speaks first; a seated echo client hears nothing until it sends.
        next.set_read_timeout(Some(Duration::from_millis(300)))
            .unwrap();
        let mut first = String::new();
        match next_reader.read_line(&mut first) {
            Err(error) if is_timeout(&error) => {
                next.set_read_timeout(None).unwrap();
                assert_eq!(exchange(&mut next, &mut next_reader, "hello\n"), "hello\n");
                break;
            }
            _ => assert!(
                seated.elapsed() < Duration::from_secs(2),
                "no seat {:?} after the cut: {first:?}",
                seated.elapsed()
            ),
        }
        thread::sleep(Duration::from_millis(50));
    }
    shutdown.request();
    running.join().unwrap();
    sender.join().unwrap();
}

#[test]
fn a_client_that_keeps_the_rate_keeps_its_seat() {
    let rate = MinRate {
        bytes: 12,
        window: Duration::from_millis(500),
    };
    let (addr, shutdown, running) = start(|server| server.min_rate(Some(rate)));
    let (mut client, mut reader) = connect(addr);
    // 6 bytes out and 6 back every 100 ms: 60 bytes a window.
    for _ in 0..20 {
        assert_eq!(exchange(&mut client, &mut reader, "hello\n"), "hello\n");
        thread::sleep(Duration::from_millis(100));
    }
    drop((client, reader));
    shutdown.request();
    running.join().unwrap();
}

#[test]
fn a_client_that_stops_reading_is_reported_as_such() {
    let (failed_tx, failed) = mpsc::channel();
    let failed_tx = Mutex::new(failed_tx);
    let (addr, shutdown, running) = start(|server| {
        server
            .idle_timeout(Some(Duration::from_millis(500)))
            .min_rate(None)
            .on_event(move |event| {
                let _ = failed_tx.lock().unwrap().send(event.to_string());
            })
    });
    let (mut client, _reader) = connect(addr);
    // Lines the server echoes, never read back: its writes fill the buffers and stop.
    let line = [b'x'; 1023]
        .iter()
        .chain(b"\n")
        .copied()
        .collect::<Vec<u8>>();
    client
        .set_write_timeout(Some(Duration::from_millis(100)))
        .unwrap();
    while client.write_all(&line).is_ok() {}
    let event = failed.recv_timeout(Duration::from_secs(10)).unwrap();
    assert!(
        event.ends_with("dropped: stopped reading for 500ms"),
        "{event}"
    );
    shutdown.request();
    running.join().unwrap();
}

// A 64 TiB stack fits no 64-bit machine's memory; on 32 bits the number does not exist.
#[cfg(target_pointer_width = "64")]
#[test]
fn a_client_whose_thread_cannot_start_gets_the_busy_line() {
    let (addr, shutdown, running) = start(|mut server| {
        server.thread_stack = Some(1 << 46);
        server
    });
    let (_client, mut reader) = connect(addr);
    assert_eq!(
        read_all(&mut reader),
        b"Server busy: too many clients, try again later\n"
    );
    shutdown.request();
    running.join().unwrap();
}

#[test]
fn shutdown_stops_accepting_but_lets_live_clients_finish() {
    let (addr, shutdown, running) = start(|server| server.grace_period(Duration::from_secs(10)));
    let (mut live, mut reader) = connect(addr);
    assert_eq!(exchange(&mut live, &mut reader, "before\n"), "before\n");
    shutdown.request();
    // New clients are refused once the listener is closed.
    let deadline = Instant::now() + Duration::from_secs(5);
    while TcpStream::connect(addr).is_ok() {
        assert!(Instant::now() < deadline, "the server kept accepting");
        thread::sleep(Duration::from_millis(10));
    }
    assert!(!running.is_finished(), "serve waits for the live client");
    assert_eq!(exchange(&mut live, &mut reader, "after\n"), "after\n");
    drop((live, reader));
    let summary = running.join().unwrap();
    assert_eq!(
        summary,
        Summary {
            served: 1,
            turned_away: 0,
            cut_off: 0
        }
    );
}

#[test]
fn clients_still_open_after_the_grace_period_are_cut_off() {
    let (addr, shutdown, running) = start(|server| {
        server
            .grace_period(Duration::from_millis(200))
            .idle_timeout(None)
    });
    let (mut live, mut reader) = connect(addr);
    assert_eq!(exchange(&mut live, &mut reader, "hi\n"), "hi\n");
    shutdown.request();
    assert_eq!(running.join().unwrap().cut_off, 1);
    assert_eq!(
        read_all(&mut reader),
        b"",
        "the cut-off client sees end of stream"
    );
}

#[test]
fn hang_up_delivers_the_last_words_even_with_unread_input() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let mut client = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
    let (server_side, _) = listener.accept().unwrap();
    // Unread bytes at close would make the kernel send a reset instead of the words.
    client.write_all(&[b'x'; 100_000]).unwrap();
    let writer = thread::spawn(move || {
        hang_up(&server_side, b"bye\n", Duration::from_secs(2));
    });
    let mut reader = BufReader::new(client);
    let mut line = String::new();
    reader.read_line(&mut line).unwrap();
    assert_eq!(line, "bye\n");
    drop(reader);
    writer.join().unwrap();
}
