//! Real S3 servers on 127.0.0.1 for the tests, started through `scripts/s3-server` once per test
//! binary. They die with the test process (PR_SET_PDEATHSIG), so nothing is left running.

use std::net::{TcpListener, TcpStream};
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

#[derive(Clone, Debug)]
pub struct S3Server {
    /// `127.0.0.1:PORT`
    pub host: String,
    pub access_key: String,
    pub secret_key: String,
    /// A bucket that exists when the server is up.
    pub bucket: String,
    pub data_dir: PathBuf,
    pub kind: &'static str,
}

impl S3Server {
    pub fn url(&self, bucket: &str, prefix: &str) -> String {
        if prefix.is_empty() {
            format!("s3://{}/{bucket}", self.host)
        } else {
            format!("s3://{}/{bucket}/{prefix}", self.host)
        }
    }

    /// `key=value` arguments for `kloset ... add`.
    pub fn credentials(&self) -> Vec<String> {
        vec![
            format!("access_key={}", self.access_key),
            format!("secret_access_key={}", self.secret_key),
            "use_tls=false".to_string(),
        ]
    }
}

fn script() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("scripts/s3-server")
}

fn free_port_pair() -> u16 {
    for _ in 0..100 {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = l.local_addr().unwrap().port();
        drop(l);
        if port < 65000 && TcpListener::bind(("127.0.0.1", port + 1)).is_ok() {
            return port;
        }
    }
    panic!("no free port pair on 127.0.0.1");
}

/// Spawns from a thread that never exits: PDEATHSIG fires when the spawning *thread* ends.
fn spawn_forever(log: PathBuf, make: impl FnOnce() -> Command + Send + 'static) {
    let (tx, rx) = std::sync::mpsc::channel::<Result<(), String>>();
    std::thread::spawn(move || {
        let mut cmd = make();
        // The server's own log goes to a file that a failed start prints.
        let log = std::fs::File::create(&log).expect("server log file");
        cmd.stdin(Stdio::null()).stdout(Stdio::null()).stderr(log);
        unsafe {
            cmd.pre_exec(|| {
                libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
                Ok(())
            });
        }
        let child: std::io::Result<Child> = cmd.spawn();
        match child {
            Ok(_child) => {
                tx.send(Ok(())).unwrap();
                loop {
                    std::thread::park();
                }
            }
            Err(e) => tx.send(Err(e.to_string())).unwrap(),
        }
    });
    rx.recv().unwrap().expect("start S3 server");
}

fn log_path(port: u16) -> PathBuf {
    std::env::temp_dir().join(format!("kloset-test-s3-{port}.log"))
}

fn wait_for_port(port: u16, what: &str) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            Instant::now() < deadline,
            "{what} did not start on 127.0.0.1:{port}: run 'scripts/s3-server install' first (the tests never skip S3)\n{}",
            std::fs::read_to_string(log_path(port)).unwrap_or_default()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn garage_config() -> S3Server {
    let port = free_port_pair();
    S3Server {
        host: format!("127.0.0.1:{port}"),
        access_key: "GK0123456789abcdef01234567".into(),
        secret_key: "aa4c3a9b3a8e0f1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e6f708192a3b4c5d6e7f8".into(),
        bucket: "kloset-test".into(),
        data_dir: tempfile::tempdir().unwrap().keep(),
        kind: "garage",
    }
}

impl S3Server {
    pub fn port(&self) -> u16 {
        self.host.rsplit(':').next().unwrap().parse().unwrap()
    }

    fn garage_command(&self) -> Command {
        let mut cmd = Command::new(script());
        cmd.arg("garage")
            .arg(&self.data_dir)
            .arg(self.port().to_string())
            .env("GARAGE_DEFAULT_ACCESS_KEY", &self.access_key)
            .env("GARAGE_DEFAULT_SECRET_KEY", &self.secret_key)
            .env("GARAGE_DEFAULT_BUCKET", &self.bucket)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        cmd
    }

    /// Runs tests/tools/s3tool.py (boto3: an S3 client independent of kloset) against this server.
    pub fn tool(&self, args: &[&str]) -> String {
        let out = self.tool_command(args).output().expect("python3");
        assert!(
            out.status.success(),
            "s3tool {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }

    /// Whether s3tool succeeded, for commands whose failure is the answer.
    pub fn tool_ok(&self, args: &[&str]) -> bool {
        self.tool_command(args)
            .output()
            .expect("python3")
            .status
            .success()
    }

    fn tool_command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new("python3");
        cmd.arg(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/tools/s3tool.py"
        ))
        .arg(format!("http://{}", self.host))
        .args([&self.access_key, &self.secret_key])
        .args(args);
        cmd
    }

    /// Ready means a real, signed S3 request on the default bucket succeeds (boto3), not just
    /// an open port: Garage creates its key and bucket after it starts listening, and takes
    /// longer under load.
    fn wait_ready(&self) {
        wait_for_port(self.port(), "Garage");
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let ok = self
                .tool_command(&["uploads", &self.bucket])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .is_ok_and(|s| s.success());
            if ok {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "Garage on {} never answered S3 requests",
                self.host
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }
}

/// A single-node Garage with one key and bucket `kloset-test`, shared by a test binary.
pub fn garage() -> &'static S3Server {
    static SERVER: OnceLock<S3Server> = OnceLock::new();
    SERVER.get_or_init(|| {
        let server = garage_config();
        let s = server.clone();
        spawn_forever(log_path(server.port()), move || s.garage_command());
        server.wait_ready();
        server
    })
}

/// A Garage owned by the calling test, which may stop and restart it.
pub struct PrivateGarage {
    pub server: S3Server,
    child: Option<Child>,
}

impl PrivateGarage {
    pub fn start() -> PrivateGarage {
        let mut g = PrivateGarage {
            server: garage_config(),
            child: None,
        };
        g.restart();
        g
    }

    pub fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            unsafe { libc::kill(c.id() as i32, libc::SIGKILL) };
            let _ = c.wait();
        }
    }

    pub fn restart(&mut self) {
        self.stop();
        let mut cmd = self.server.garage_command();
        unsafe {
            cmd.pre_exec(|| {
                libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
                Ok(())
            });
        }
        self.child = Some(cmd.spawn().expect("start garage"));
        self.server.wait_ready();
    }
}

impl Drop for PrivateGarage {
    fn drop(&mut self) {
        self.stop();
    }
}

/// moto's S3 server: in memory, any credentials, has object tagging.
pub fn moto() -> &'static S3Server {
    static SERVER: OnceLock<S3Server> = OnceLock::new();
    SERVER.get_or_init(|| {
        let port = free_port_pair();
        let server = S3Server {
            host: format!("127.0.0.1:{port}"),
            access_key: "testing-key".into(),
            secret_key: "testing-secret-key".into(),
            bucket: "kloset-test".into(),
            data_dir: PathBuf::new(),
            kind: "moto",
        };
        spawn_forever(log_path(port), move || {
            let mut cmd = Command::new(script());
            cmd.arg("moto").arg(port.to_string());
            cmd
        });
        wait_for_port(port, "moto");
        server
    })
}
