//! Group commit: one writer thread owns the engine; callers submit requests from any
//! thread and get their answer through a callback once the batch holding the request is
//! durable. Requests that arrive while a batch is being written form the next batch.

use std::sync::mpsc::{self, Receiver, Sender};
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
}

impl<S: Store> Clone for EngineHandle<S> {
    fn clone(&self) -> Self {
        EngineHandle {
            tx: self.tx.clone(),
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
        let thread = thread::Builder::new()
            .name("gongji-writer".into())
            .spawn(move || run(engine, rx))
            .ok();
        (EngineHandle { tx }, Writer { thread })
    }

    /// Submits a request; `reply` is called once it is durable (or refused).
    pub fn submit(&self, request: Request, reply: Reply) {
        if let Err(mpsc::SendError(Job::Write(_, reply))) =
            self.tx.send(Job::Write(Box::new(request), reply))
        {
            reply(Err(EngineError::Store(gongji_store::StoreError::Io(
                "writer stopped".into(),
            ))));
        }
    }

    /// Runs `job` on the writer thread between batches, with the engine's current state.
    pub fn read(&self, job: ReadJob<S>) -> bool {
        self.tx.send(Job::Read(job)).is_ok()
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
        rx.recv().unwrap_or_else(|_| {
            Err(EngineError::Store(gongji_store::StoreError::Io(
                "writer stopped".into(),
            )))
        })
    }
}

fn run<S: Store>(mut engine: Engine<S>, rx: Receiver<Job<S>>) {
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
            for (reply, result) in replies.into_iter().zip(results) {
                reply(result);
            }
        }
        for read in reads {
            read(&mut engine);
        }
    }
}
