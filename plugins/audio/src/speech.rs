//! The speech worker: one queue and one player per terminal.
//!
//! `speak` accepts an utterance and returns at once; a worker thread splits it into sentences,
//! normalises each, takes it from the phrase cache or has the engine synthesize it, and appends
//! the PCM to the player as it arrives: each sentence is one stream the mixer plays while the
//! engine is still writing it.
//! Queued utterances follow each other with no gap. An interrupt (`speechQueue: 1`) or
//! `speechStop` moves to a new generation: the queue is emptied, the engine's process is
//! killed, the player is stopped (its sound ends within one mixer period) and a new player is
//! made for what comes next.

use crate::engine::{Engine, Prosody, Synthesis};
use crate::normalize::{self, Money};
use crate::output::{Hold, Output};
use crate::resample::Converter;
use rodio::Player;
use std::collections::{HashMap, VecDeque};
use std::io::Read;
use std::num::NonZero;
use std::process::Child;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

/// Sentences longer than this (characters) are split at commas.
const SOFT_SENTENCE: usize = 40;

#[derive(Debug, Clone)]
pub struct SpeechOptions {
    pub money: Money,
    pub normalize: bool,
    pub volume: f32,
    pub cache_bytes: usize,
}

struct Utterance {
    text: String,
    prosody: Prosody,
    generation: u64,
    accepted: Instant,
}

struct State {
    generation: u64,
    queue: VecDeque<Utterance>,
    /// The running engine process, so that an interrupt can end it.
    current: Option<Arc<Mutex<Option<Child>>>>,
    /// The player of this generation, with the output epoch it was made on.
    player: Option<(u64, Player)>,
    shutdown: bool,
    /// Utterances accepted and not yet played to the end (for tests and the self-test).
    busy: bool,
}

pub struct Speech {
    engine: Arc<dyn Engine>,
    fallback: Option<Arc<dyn Engine>>,
    output: Arc<Output>,
    options: SpeechOptions,
    state: Mutex<State>,
    wake: Condvar,
    cache: Mutex<Cache>,
    /// Milliseconds from `speak` to the first PCM handed to the player, of the last utterance.
    last_first_audio_ms: Mutex<Option<f64>>,
}

impl Speech {
    pub fn start(
        engine: Arc<dyn Engine>,
        fallback: Option<Arc<dyn Engine>>,
        output: Arc<Output>,
        options: SpeechOptions,
    ) -> Arc<Speech> {
        let cache = Cache::new(options.cache_bytes);
        let me = Arc::new(Speech {
            engine,
            fallback,
            output,
            options,
            state: Mutex::new(State {
                generation: 0,
                queue: VecDeque::new(),
                current: None,
                player: None,
                shutdown: false,
                busy: false,
            }),
            wake: Condvar::new(),
            cache: Mutex::new(cache),
            last_first_audio_ms: Mutex::new(None),
        });
        let worker = me.clone();
        if let Err(e) = std::thread::Builder::new().name("booth-speech".into()).spawn(move || worker.run()) {
            tracing::error!(error = %e, "cannot start the speech worker");
        }
        me
    }

    pub fn engine_name(&self) -> &'static str {
        self.engine.name()
    }

    /// Accepts an utterance: queued after what is playing, or (`interrupt`) instead of it.
    pub fn speak(&self, text: &str, prosody: Prosody, interrupt: bool) {
        let mut st = self.lock();
        if interrupt {
            self.cut(&mut st);
        }
        let generation = st.generation;
        st.queue.push_back(Utterance { text: text.to_string(), prosody, generation, accepted: Instant::now() });
        st.busy = true;
        *self.last_first_audio_ms.lock().unwrap_or_else(|p| p.into_inner()) = None;
        drop(st);
        self.wake.notify_all();
    }

    /// Stops what is playing and empties the queue.
    pub fn stop(&self) {
        let mut st = self.lock();
        self.cut(&mut st);
        st.busy = false;
    }

    /// Whether anything is queued, being made or playing.
    pub fn busy(&self) -> bool {
        let st = self.lock();
        st.busy || st.player.as_ref().is_some_and(|(_, p)| !p.empty())
    }

    pub fn last_first_audio_ms(&self) -> Option<f64> {
        *self.last_first_audio_ms.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn shutdown(&self) {
        let mut st = self.lock();
        self.cut(&mut st);
        st.shutdown = true;
        drop(st);
        self.wake.notify_all();
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn cut(&self, st: &mut State) {
        st.generation += 1;
        st.queue.clear();
        if let Some(slot) = st.current.take() {
            if let Some(child) = slot.lock().unwrap_or_else(|p| p.into_inner()).as_mut() {
                let _ = child.kill();
            }
        }
        if let Some((_, player)) = st.player.take() {
            player.stop();
        }
    }

    fn run(self: Arc<Self>) {
        loop {
            let utterance = {
                let mut st = self.lock();
                loop {
                    if st.shutdown {
                        return;
                    }
                    if let Some(u) = st.queue.pop_front() {
                        break u;
                    }
                    st.busy = false;
                    st = self.wake.wait(st).unwrap_or_else(|p| p.into_inner());
                }
            };
            let started = Some(utterance.accepted);
            let mut first = true;
            for sentence in normalize::sentences(&utterance.text, SOFT_SENTENCE) {
                if self.lock().generation != utterance.generation {
                    break;
                }
                if !self.say(&sentence, utterance.prosody, utterance.generation, &mut first, started) {
                    break;
                }
            }
        }
    }

    /// Speaks one sentence; returns false when the generation moved on.
    fn say(
        &self,
        sentence: &str,
        prosody: Prosody,
        generation: u64,
        first: &mut bool,
        started: Option<Instant>,
    ) -> bool {
        let mut text = if self.options.normalize {
            normalize::normalize(sentence, self.options.money)
        } else {
            sentence.to_string()
        };
        let engines: Vec<Arc<dyn Engine>> = std::iter::once(self.engine.clone()).chain(self.fallback.clone()).collect();
        for engine in engines {
            if engine.wants_pinyin() {
                text = normalize::pinyin_polyphones(&text);
            }
            let key = format!(
                "{}\u{1}{}\u{1}{:.3}\u{1}{:.3}\u{1}{text}",
                engine.name(),
                engine.voice(),
                prosody.pitch,
                prosody.rate
            );
            let cached = self.cache.lock().unwrap_or_else(|p| p.into_inner()).get(&key);
            if let Some((rate, pcm)) = cached {
                let Some(mut out) = self.open_stream(generation, rate) else { return self.current(generation) };
                let from = if *first { sound_starts(&pcm, rate).unwrap_or(pcm.len()) } else { 0 };
                self.mark_first(first, started);
                // In pieces, as a synthesis arrives: converting the whole sentence first would
                // hold back its first sample (tens of ms for a long one).
                let ok = pcm[from..].chunks(4096).all(|piece| out.push(self, piece)) && out.close(self);
                return ok && self.current(generation);
            }
            let synthesis = match engine.synthesize(&text, prosody) {
                Ok(s) => s,
                Err(e) => {
                    tracing::warn!(engine = engine.name(), error = %e, "speech synthesis failed");
                    continue;
                }
            };
            return match self.stream(synthesis, generation, first, started) {
                Some((rate, all)) => {
                    self.cache.lock().unwrap_or_else(|p| p.into_inner()).put(key, rate, all);
                    true
                }
                None => self.current(generation),
            };
        }
        true
    }

    fn current(&self, generation: u64) -> bool {
        self.lock().generation == generation
    }

    fn mark_first(&self, first: &mut bool, started: Option<Instant>) {
        if std::mem::take(first) {
            if let Some(t) = started {
                *self.last_first_audio_ms.lock().unwrap_or_else(|p| p.into_inner()) =
                    Some(t.elapsed().as_secs_f64() * 1000.0);
            }
        }
    }

    /// Plays a synthesis as it arrives. Returns the whole sentence when it completed (for the
    /// cache), `None` when interrupted or broken.
    fn stream(
        &self,
        mut synthesis: Synthesis,
        generation: u64,
        first: &mut bool,
        started: Option<Instant>,
    ) -> Option<(u32, Vec<f32>)> {
        {
            let mut st = self.lock();
            if st.generation != generation {
                synthesis.kill();
                return None;
            }
            st.current = synthesis.child.clone();
        }
        let rate = synthesis.format.rate;
        let mut out = self.open_stream(generation, rate);
        let mut decoder = crate::wav::Decoder::new(synthesis.format);
        let mut all = Vec::new();
        let mut sent = 0usize;
        // An utterance's first sentence starts with its sound, not the engine's lead-in.
        let mut lead_in = *first;
        let mut buf = vec![0u8; 8192];
        let mut complete = false;
        loop {
            let n = match synthesis.reader.read(&mut buf) {
                Ok(0) => {
                    complete = true;
                    0
                }
                Ok(n) => n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    tracing::warn!(error = %e, "speech engine stream broke");
                    0
                }
            };
            decoder.push(&buf[..n], &mut all);
            if lead_in && all.len() > sent {
                match sound_starts(&all[sent..], rate) {
                    Some(p) => {
                        sent += p;
                        lead_in = false;
                    }
                    // Silence so far: keep the last margin's worth for when the sound comes.
                    None => sent = all.len().saturating_sub(lead_margin(rate)).max(sent),
                }
            }
            if all.len() > sent && (!lead_in || n == 0) {
                if let Some(o) = out.as_mut() {
                    self.mark_first(first, started);
                    if !o.push(self, &all[sent..]) {
                        synthesis.kill();
                        return None;
                    }
                }
                sent = all.len();
            }
            if n == 0 {
                break;
            }
        }
        if let Some(o) = out {
            if !o.close(self) {
                synthesis.kill();
                return None;
            }
        }
        synthesis.finish();
        let mut st = self.lock();
        st.current = None;
        (complete && st.generation == generation).then_some((rate, all))
    }

    /// A stream for one sentence, appended to this generation's player: one source per
    /// sentence, so that the mixer resamples it without seams. `None` when the generation
    /// moved on or there is no output (the sentence is then made but not heard).
    fn open_stream(&self, generation: u64, rate: u32) -> Option<Feed> {
        let mut st = self.lock();
        if st.generation != generation {
            return None;
        }
        let epoch = self.output.epoch();
        if st.player.as_ref().is_none_or(|(e, _)| *e != epoch) {
            match self.output.mixer() {
                Ok(mixer) => st.player = Some((epoch, Player::connect_new(&mixer))),
                Err(why) => {
                    tracing::debug!(why, "speech: no output, sentence dropped");
                    return None;
                }
            }
        }
        let device_rate = self.output.rate();
        let conv = match Converter::new(rate, device_rate) {
            Ok(c) => c,
            Err(e) => {
                tracing::warn!(rate, device_rate, error = %e, "speech: cannot convert the engine's rate");
                return None;
            }
        };
        let (producer, consumer) = rtrb::RingBuffer::new(device_rate as usize * RING_SECONDS);
        let done = Arc::new(AtomicBool::new(false));
        let hold = Arc::new(std::sync::OnceLock::new());
        if let Some((_, player)) = &st.player {
            let rate = NonZero::new(device_rate)?;
            player.append(Stream { ring: consumer, done: done.clone(), rate, _hold: hold.clone() });
        }
        Some(Feed {
            producer,
            done,
            hold: Some(hold),
            generation,
            epoch,
            volume: self.options.volume,
            conv,
            scratch: Vec::new(),
            rate_in: rate,
            rate: device_rate,
        })
    }
}

/// Below this a sample is the engine's silence (≈ −80 dBFS).
const SILENT: f32 = 1e-4;

/// The engine's silence before a sentence's sound kept in front of it, in samples.
fn lead_margin(rate: u32) -> usize {
    rate as usize / 200
}

/// Where a sentence's sound starts, less a 5 ms margin: engines put tens of ms of silence
/// before it (espeak-ng: 39 ms), which would only delay the first sound of a prompt. `None`
/// when it is all silence.
fn sound_starts(pcm: &[f32], rate: u32) -> Option<usize> {
    let p = pcm.iter().position(|v| v.abs() > SILENT)?;
    Some(p.saturating_sub(lead_margin(rate)))
}

/// Seconds of PCM a sentence's stream holds ahead of the speaker.
const RING_SECONDS: usize = 2;
/// A stream nobody plays from for this long (the device went away) is given up.
const STALL: Duration = Duration::from_secs(2);

/// The worker's end of a sentence stream.
struct Feed {
    producer: rtrb::Producer<f32>,
    done: Arc<AtomicBool>,
    /// The stream's claim on the device, made with its first samples: a stream opened before
    /// there is anything to play would fill the device's buffer with silence ahead of them.
    hold: Option<Arc<std::sync::OnceLock<Hold>>>,
    generation: u64,
    epoch: u64,
    volume: f32,
    /// From the engine's rate to the device's.
    conv: Converter,
    scratch: Vec<f32>,
    rate_in: u32,
    /// The device rate the stream plays at.
    rate: u32,
}

impl Feed {
    /// Converts and pushes every sample, waiting for room; false when the generation moved
    /// on, the device changed or nothing is played any more.
    fn push(&mut self, speech: &Speech, pcm: &[f32]) -> bool {
        let mut scratch = std::mem::take(&mut self.scratch);
        scratch.clear();
        self.conv.push(pcm, &mut scratch);
        let ok = self.push_converted(speech, &scratch);
        self.scratch = scratch;
        ok
    }

    /// The end of the sentence: the converter's tail, then the stream ends.
    fn close(mut self, speech: &Speech) -> bool {
        let mut tail = Vec::new();
        self.conv.finish(&mut tail);
        self.push_converted(speech, &tail)
    }

    fn push_converted(&mut self, speech: &Speech, pcm: &[f32]) -> bool {
        let mut i = 0;
        let mut stalled = Instant::now();
        while i < pcm.len() {
            let room = self.producer.slots().min(pcm.len() - i);
            if room > 0 {
                for &v in &pcm[i..i + room] {
                    // Cannot fail: `room` slots are free and only this thread writes.
                    let _ = self.producer.push(v * self.volume);
                }
                if let Some(hold) = self.hold.take() {
                    let _ = hold.set(speech.output.hold());
                }
                i += room;
                stalled = Instant::now();
                continue;
            }
            if !speech.current(self.generation) || stalled.elapsed() > STALL {
                return false;
            }
            if speech.output.epoch() != self.epoch {
                // The device was reopened (a driver fault): carry on on the new one.
                if !self.reattach(speech) {
                    return false;
                }
                stalled = Instant::now();
                continue;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        speech.current(self.generation)
    }
}

impl Feed {
    /// Moves the rest of the sentence to a new stream on the current device.
    fn reattach(&mut self, speech: &Speech) -> bool {
        let Some(new) = speech.open_stream(self.generation, self.conv_rate_in()) else { return false };
        if new.rate != self.rate {
            return false;
        }
        let old_done = std::mem::replace(&mut self.done, new.done.clone());
        old_done.store(true, Ordering::Release);
        let mut new = new;
        std::mem::swap(&mut self.producer, &mut new.producer);
        self.hold = new.hold.take();
        self.epoch = new.epoch;
        // `new` now holds the old ring; its drop marks the new stream's twin flag, which is
        // ours now, so keep it from doing that.
        new.done = Arc::new(AtomicBool::new(false));
        true
    }

    fn conv_rate_in(&self) -> u32 {
        self.rate_in
    }
}

impl Drop for Feed {
    fn drop(&mut self) {
        self.done.store(true, Ordering::Release);
    }
}

/// A sentence as the mixer plays it: samples as the worker makes them, silence if it falls
/// behind, the end once the worker is done and everything is played.
struct Stream {
    ring: rtrb::Consumer<f32>,
    done: Arc<AtomicBool>,
    rate: NonZero<u32>,
    /// Keeps the device's stream open until the mixer drops this (set by the feed).
    _hold: Arc<std::sync::OnceLock<Hold>>,
}

impl Iterator for Stream {
    type Item = f32;
    fn next(&mut self) -> Option<f32> {
        // Real-time thread: no lock, no allocation.
        match self.ring.pop() {
            Ok(v) => Some(v),
            Err(_) if self.done.load(Ordering::Acquire) => self.ring.pop().ok(),
            Err(_) => Some(0.0),
        }
    }
}

impl rodio::Source for Stream {
    fn current_span_len(&self) -> Option<usize> {
        None
    }
    fn channels(&self) -> rodio::ChannelCount {
        NonZero::<u16>::MIN
    }
    fn sample_rate(&self) -> rodio::SampleRate {
        self.rate
    }
    fn total_duration(&self) -> Option<Duration> {
        None
    }
}

/// The phrase cache: identical (engine, voice, pitch, rate, text) → the PCM made before, so
/// repeated prompts start at once. Least recently used entries go first when it is full.
struct Cache {
    limit: usize,
    used: usize,
    map: HashMap<String, (u32, Arc<[f32]>)>,
    order: VecDeque<String>,
}

impl Cache {
    fn new(limit: usize) -> Cache {
        Cache { limit, used: 0, map: HashMap::new(), order: VecDeque::new() }
    }

    fn get(&mut self, key: &str) -> Option<(u32, Arc<[f32]>)> {
        let hit = self.map.get(key).cloned()?;
        if let Some(i) = self.order.iter().position(|k| k == key) {
            if let Some(k) = self.order.remove(i) {
                self.order.push_back(k);
            }
        }
        Some(hit)
    }

    fn put(&mut self, key: String, rate: u32, pcm: Vec<f32>) {
        let size = pcm.len() * 4 + key.len();
        if size > self.limit || self.map.contains_key(&key) {
            return;
        }
        while self.used + size > self.limit {
            let Some(old) = self.order.pop_front() else { break };
            if let Some((_, p)) = self.map.remove(&old) {
                self.used -= p.len() * 4 + old.len();
            }
        }
        self.used += size;
        self.order.push_back(key.clone());
        self.map.insert(key, (rate, pcm.into()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cache_is_bounded_and_least_recently_used_goes_first() {
        let mut c = Cache::new(3 * (400 + 1));
        c.put("a".into(), 1, vec![0.0; 100]);
        c.put("b".into(), 1, vec![0.0; 100]);
        c.put("c".into(), 1, vec![0.0; 100]);
        assert!(c.get("a").is_some());
        c.put("d".into(), 1, vec![0.0; 100]);
        assert!(c.get("b").is_none(), "b was least recently used");
        assert!(c.get("a").is_some() && c.get("c").is_some() && c.get("d").is_some());
        assert!(c.used <= c.limit);
        c.put("huge".into(), 1, vec![0.0; 10_000]);
        assert!(c.get("huge").is_none());
        let mut off = Cache::new(0);
        off.put("x".into(), 1, vec![0.0; 1]);
        assert!(off.get("x").is_none());
    }
}
