//! A private `redis-server` for one test, on a free loopback port, that the test may
//! stall (`CLIENT PAUSE`) or restart without touching the shared Redis on 6379. It keeps
//! its data in a temporary directory (RDB), so a restart with `SHUTDOWN SAVE` keeps keys.
//!
//! [`Node`] is a bare `redis-server` process with the caller's arguments (a cluster node,
//! a replica, a sentinel, a TLS server), killed with SIGKILL on demand or on drop.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub struct PrivateRedis {
    pub port: u16,
    dir: tempfile::TempDir,
    child: Option<Child>,
}

pub fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

impl PrivateRedis {
    pub async fn start() -> Self {
        let mut r = Self {
            port: free_port(),
            dir: tempfile::tempdir().unwrap(),
            child: None,
        };
        r.spawn().await;
        r
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    async fn spawn(&mut self) {
        let child = Command::new("redis-server")
            .args([
                "--port",
                &self.port.to_string(),
                "--bind",
                "127.0.0.1",
                "--dir",
                self.dir.path().to_str().unwrap(),
                "--dbfilename",
                "dump.rdb",
                "--save",
                "",
                "--appendonly",
                "no",
                "--daemonize",
                "no",
                "--enable-debug-command",
                "local",
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("redis-server is installed");
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Ok(mut c) = self.raw().await
                && redis::cmd("PING")
                    .query_async::<String>(&mut c)
                    .await
                    .is_ok()
            {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "private redis-server did not start"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// A plain connection of the test's own (not Lanyard's).
    pub async fn raw(&self) -> redis::RedisResult<redis::aio::MultiplexedConnection> {
        redis::Client::open(self.url())?
            .get_multiplexed_async_connection()
            .await
    }

    /// `CLIENT PAUSE ms mode`: Redis holds the matching commands of every other client.
    pub async fn pause(&self, ms: u64, mode: &str) {
        let mut c = self.raw().await.unwrap();
        let _: () = redis::cmd("CLIENT")
            .arg("PAUSE")
            .arg(ms)
            .arg(mode)
            .query_async(&mut c)
            .await
            .unwrap();
    }

    /// `DEBUG SLEEP`: the whole server stops answering for `ms`, as a busy or frozen Redis
    /// does, with commands left in its sockets' buffers (unlike `CLIENT PAUSE`, which
    /// drops a waiting command when its client disconnects). Returns at once.
    pub async fn freeze(&self, ms: u64) {
        let mut c = self.raw().await.unwrap();
        tokio::spawn(async move {
            let _: redis::RedisResult<()> = redis::cmd("DEBUG")
                .arg("SLEEP")
                .arg(format!("{:.3}", ms as f64 / 1000.0))
                .query_async(&mut c)
                .await;
        });
        // Let the command reach the server before the caller sends anything.
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    /// Stops the server, saving its data, and starts it again on the same port.
    pub async fn restart(&mut self) {
        if let Ok(mut c) = self.raw().await {
            // The connection ends with the server: the answer is an error.
            let _ = redis::cmd("SHUTDOWN")
                .arg("SAVE")
                .query_async::<()>(&mut c)
                .await;
        }
        if let Some(mut child) = self.child.take() {
            let deadline = Instant::now() + Duration::from_secs(10);
            while child.try_wait().unwrap().is_none() {
                assert!(Instant::now() < deadline, "redis-server did not stop");
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }
        self.spawn().await;
    }
}

impl Drop for PrivateRedis {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// One `redis-server` process started with the caller's arguments (in its own directory),
/// answering on `port` (or only on TLS, when the caller says so), killed on drop.
pub struct Node {
    pub port: u16,
    dir: std::path::PathBuf,
    args: Vec<String>,
    child: Option<Child>,
}

impl Node {
    /// Starts `redis-server` with `args` in `dir` (its working directory). Does not wait.
    pub fn spawn(dir: &std::path::Path, args: &[String]) -> Node {
        let port = args
            .iter()
            .position(|a| a == "--port")
            .and_then(|i| args.get(i + 1))
            .and_then(|p| p.parse().ok())
            .unwrap_or(0);
        let mut node = Node {
            port,
            dir: dir.to_owned(),
            args: args.to_vec(),
            child: None,
        };
        node.respawn();
        node
    }

    /// Starts the process again (after [`Node::kill`]) with the same arguments, as a
    /// machine coming back. Does not wait.
    pub fn respawn(&mut self) {
        self.respawn_with(&[]);
    }

    /// [`Node::respawn`] with `extra` arguments this time.
    pub fn respawn_with(&mut self, extra: &[String]) {
        let child = Command::new("redis-server")
            .args(&self.args)
            .args(extra)
            .current_dir(&self.dir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("redis-server is installed");
        self.child = Some(child);
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// Waits until the node answers `PING` on `port` (plain TCP).
    pub async fn wait_ready(&self) {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Ok(mut c) = self.raw().await
                && redis::cmd("PING")
                    .query_async::<String>(&mut c)
                    .await
                    .is_ok()
            {
                return;
            }
            assert!(Instant::now() < deadline, "redis-server did not start");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// A plain connection of the test's own.
    pub async fn raw(&self) -> redis::RedisResult<redis::aio::MultiplexedConnection> {
        redis::Client::open(self.url())?
            .get_multiplexed_async_connection()
            .await
    }

    /// SIGKILL, as a crashed machine: nothing is saved or handed over.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        self.kill();
    }
}
