//! Group commit: one writer thread owns the engine; callers submit requests from any
//! thread and get their answer through a callback once the batch holding the request is
//! durable. Requests that arrive while a batch is being written form the next batch.
//!
//! Fail-stop: once the engine has stopped (a failed commit whose reload failed too, see
//! `engine.rs`), or the writer thread has ended, every submit is answered
//! `GJ-WRITER-STOPPED` at once and reads of the engine's state are refused, since that state
//! may hold effects the store never wrote. [`EngineHandle::stopped`] says why, for the
//! health check.

use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::{Arc, OnceLock};
use std::thread::{self, JoinHandle};

use gongji_store::Store;

use crate::command::{EngineError, Outcome, Request};
use crate::engine::{Engine, BATCH_SIZE_MAX};

pub type Reply = Box<dyn FnOnce(Result<Outcome, EngineError>) + Send>;
pub type ReadJob<S> = Box<dyn FnOnce(&mut Engine<S>) + Send>;

enum Job<S: Store> {
    Write(Box<Request>, Reply),
    Read(ReadJob<S>),
}

/// A cloneable handle to the writer thread.
pub struct EngineHandle<S: Store> {
    tx: Sender<Job<S>>,
    /// Set once, when the writer stops deciding; never cleared (only a restart, which loads
    /// the store afresh, brings it back).
    stopped: Arc<OnceLock<String>>,
}

impl<S: Store> Clone for EngineHandle<S> {
    fn clone(&self) -> Self {
        EngineHandle {
            tx: self.tx.clone(),
            stopped: self.stopped.clone(),
        }
    }
}

/// The writer thread; dropping every handle stops it after the last batch.
pub struct Writer {
    thread: Option<JoinHandle<()>>,
}

impl Writer {
    /// Waits for the writer to finish its last batch (after all handles are dropped).
    pub fn join(mut self) {
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl<S: Store + 'static> EngineHandle<S> {
    /// Moves the engine onto its own thread.
    pub fn spawn(engine: Engine<S>) -> (EngineHandle<S>, Writer) {
        let (tx, rx) = mpsc::channel::<Job<S>>();
        let stopped = Arc::new(OnceLock::new());
        let flag = stopped.clone();
        let thread = thread::Builder::new()
            .name("gongji-writer".into())
            .spawn(move || run(engine, rx, flag))
            .ok();
        if thread.is_none() {
            let _ = stopped.set("the writer thread could not be started".to_string());
        }
        (EngineHandle { tx, stopped }, Writer { thread })
    }

    /// Why the writer no longer decides anything, if it has stopped: the health check's
    /// answer.
    pub fn stopped(&self) -> Option<&str> {
        self.stopped.get().map(String::as_str)
    }

    /// Submits a request; `reply` is called once it is durable (or refused).
    pub fn submit(&self, request: Request, reply: Reply) {
        if self.stopped.get().is_some() {
            reply(Err(EngineError::WriterStopped));
            return;
        }
        if let Err(mpsc::SendError(Job::Write(_, reply))) =
            self.tx.send(Job::Write(Box::new(request), reply))
        {
            reply(Err(EngineError::WriterStopped));
        }
    }

    /// Runs `job` on the writer thread between batches, with the engine's current state.
    /// `false` when the writer has stopped: its state is then not to be trusted, and `job`
    /// is dropped without running.
    pub fn read(&self, job: ReadJob<S>) -> bool {
        self.stopped.get().is_none() && self.tx.send(Job::Read(job)).is_ok()
    }

    /// Submits and waits (for tools and tests that are not async).
    pub fn call(&self, request: Request) -> Result<Outcome, EngineError> {
        let (tx, rx) = mpsc::channel();
        self.submit(
            request,
            Box::new(move |r| {
                let _ = tx.send(r);
            }),
        );
        rx.recv().unwrap_or(Err(EngineError::WriterStopped))
    }
}

/// Marks the writer stopped when its thread ends, however it ends (a panic included), so
/// that the health check does not report a writer that is gone as healthy.
struct EndGuard(Arc<OnceLock<String>>);

impl Drop for EndGuard {
    fn drop(&mut self) {
        let _ = self.0.set("the writer thread ended".to_string());
    }
}

fn run<S: Store>(mut engine: Engine<S>, rx: Receiver<Job<S>>, stopped: Arc<OnceLock<String>>) {
    let _guard = EndGuard(stopped.clone());
    while let Ok(first) = rx.recv() {
        let mut requests = Vec::new();
        let mut replies = Vec::new();
        let mut reads = Vec::new();
        let mut next = Some(first);
        while let Some(job) = next.take() {
            match job {
                Job::Write(r, reply) => {
                    requests.push(*r);
                    replies.push(reply);
                }
                Job::Read(f) => reads.push(f),
            }
            if requests.len() < BATCH_SIZE_MAX {
                next = rx.try_recv().ok();
            }
        }
        if !requests.is_empty() {
            let results = engine.execute_batch(requests);
            if let Some(why) = engine.stopped() {
                // Before the replies: whoever hears of the failure finds the health check red.
                let _ = stopped.set(why.to_string());
            }
            for (reply, result) in replies.into_iter().zip(results) {
                reply(result);
            }
        }
        if engine.stopped().is_some() {
            // Dropped unanswered: the state holds effects the store may never have written.
            drop(reads);
            continue;
        }
        for read in reads {
            read(&mut engine);
        }
    }
}
