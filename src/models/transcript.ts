// How the stand-in STT turns frame levels into words: deterministic and predictable from the audio, so a test can
// tell which text each stretch of audio must produce, and so that a lost or repeated segment shows in the output.
//
// A "voiced run" is a stretch of frames at or above the voice threshold (short gaps bridged). Each run becomes one
// word, chosen by its loudest frame's RMS on a fixed ladder of levels. A sine tone of amplitude A has RMS A/√2, so
// `toneAmplitudeForWord(i)` gives a tone that lands in the middle of level i, far from either edge.

export const VOCABULARY: readonly string[] = [
  'alpha', 'bravo', 'charlie', 'delta', 'echo', 'foxtrot', 'golf', 'hotel', 'india', 'juliett', 'kilo', 'lima',
  'mike', 'november', 'oscar', 'papa', 'quebec', 'romeo', 'sierra', 'tango', 'uniform', 'victor', 'whiskey',
  'xray', 'yankee', 'zulu', 'zero', 'one', 'two', 'three', 'four', 'five', 'six', 'seven', 'eight', 'nine',
];

/** Width of one level, in RMS. */
export const LEVEL_STEP = 0.025;

export interface TranscriptParameters {
  /** Frames at or above this RMS are voiced. */
  voiceThreshold: number;
  /** Gaps of at most this many unvoiced frames do not split a run. */
  maxGapFrames: number;
  /** Runs shorter than this many frames are ignored (clicks, not words). */
  minRunFrames: number;
}

export const DEFAULT_TRANSCRIPT_PARAMETERS: Readonly<TranscriptParameters> = Object.freeze({
  voiceThreshold: 0.01,
  maxGapFrames: 2,
  minRunFrames: 2,
});

export interface TranscribedWord {
  word: string;
  /** The level index of the run's loudest frame. */
  level: number;
  /** First and one-past-last sample of the run, relative to the transcribed audio. */
  startSample: number;
  endSample: number;
}

/** The level index for an RMS value (clamped to the vocabulary). */
export function levelOf(rms: number): number {
  // The epsilon keeps exact multiples of the step (0.3 / 0.025 = 11.999...) in the level they name.
  return Math.max(0, Math.min(VOCABULARY.length - 1, Math.floor(rms / LEVEL_STEP + 1e-9)));
}

export function wordForRms(rms: number): string {
  return VOCABULARY[levelOf(rms)]!;
}

/** The amplitude of a sine tone whose RMS sits in the middle of `word`'s level. */
export function toneAmplitudeForWord(word: string | number): number {
  const index = typeof word === 'number' ? word : VOCABULARY.indexOf(word);
  if (!Number.isInteger(index) || index < 0 || index >= VOCABULARY.length) throw new RangeError(`no such word in the vocabulary: ${String(word)}`);
  return (index + 0.5) * LEVEL_STEP * Math.SQRT2;
}

/** How centred the level is in its band: 1 in the middle, 0 at an edge. */
function centredness(rms: number): number {
  const position = rms / LEVEL_STEP - Math.floor(rms / LEVEL_STEP);
  return 1 - 2 * Math.abs(position - 0.5);
}

/** Words from per-frame RMS values; `totalSamples` bounds the last frame (which may be partial). */
export function wordsFromFrameLevels(
  frameRms: ArrayLike<number>,
  frameSamples: number,
  totalSamples: number,
  parameters: TranscriptParameters = DEFAULT_TRANSCRIPT_PARAMETERS,
): { words: TranscribedWord[]; confidence: number } {
  const words: TranscribedWord[] = [];
  const centred: number[] = [];
  let runStart = -1;
  let runEnd = -1; // one past the last voiced frame of the current run
  let peak = 0;
  const closeRun = () => {
    if (runStart >= 0 && runEnd - runStart >= parameters.minRunFrames) {
      const level = levelOf(peak);
      words.push({ word: VOCABULARY[level]!, level, startSample: runStart * frameSamples, endSample: Math.min(totalSamples, runEnd * frameSamples) });
      centred.push(centredness(peak));
    }
    runStart = -1;
    peak = 0;
  };
  for (let frame = 0; frame < frameRms.length; frame++) {
    const rms = frameRms[frame]!;
    if (rms >= parameters.voiceThreshold) {
      if (runStart < 0) runStart = frame;
      runEnd = frame + 1;
      if (rms > peak) peak = rms;
    } else if (runStart >= 0 && frame - runEnd >= parameters.maxGapFrames) {
      closeRun();
    }
  }
  closeRun();
  const confidence = centred.length === 0 ? 0 : centred.reduce((a, b) => a + b, 0) / centred.length;
  return { words, confidence };
}

/** Joins words into text the way the daemon accumulates it: single spaces, no leading or trailing space. */
export function joinWords(words: readonly { word: string }[]): string {
  return words.map((w) => w.word).join(' ');
}
