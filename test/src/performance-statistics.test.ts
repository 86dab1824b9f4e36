import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { fitLine, percentile, regularizedIncompleteBeta, studentTCdf, studentTQuantile } from '../../src/performance-statistics.js';

/** Relative closeness; the reference values come from scipy 1.17 / numpy 2.4. */
function close(actual: number, expected: number, tolerance = 1e-9) {
  assert.ok(Math.abs(actual - expected) <= tolerance * Math.max(1, Math.abs(expected)), `${actual} is not within ${tolerance} of ${expected}`);
}

describe('studentTQuantile (reference: scipy.stats.t.ppf)', () => {
  const table: [number, number, number][] = [
    [0.975, 1, 12.706204736174694], [0.975, 2, 4.302652729749462], [0.975, 4, 2.7764451051977934],
    [0.975, 9, 2.262157162798205], [0.975, 28, 2.0484071417952454], [0.975, 120, 1.9799304050824402],
    [0.95, 7, 1.8945786050900062], [0.995, 15, 2.946712883475238], [0.6, 3, 0.2766706623326898],
    [0.025, 5, -2.5705818356363155], [0.5, 10, 0],
  ];
  for (const [p, df, expected] of table) it(`t(${p}, ${df}) = ${expected}`, () => close(studentTQuantile(p, df), expected));

  it('rejects probabilities outside (0, 1) and non-positive degrees of freedom', () => {
    assert.throws(() => studentTQuantile(1, 5), /p must be strictly between 0 and 1, got 1/);
    assert.throws(() => studentTQuantile(0, 5), /strictly between/);
    assert.throws(() => studentTQuantile(0.9, 0), /degrees of freedom must be positive, got 0/);
  });
});

describe('studentTCdf and the incomplete beta', () => {
  it('matches scipy.stats.t.cdf', () => {
    close(studentTCdf(1.5, 3), 0.8847080673775886);
    close(studentTCdf(-2.2, 10), 0.02622053422467658);
    close(studentTCdf(0, 4), 0.5);
  });
  it('is 0 and 1 at the ends of [0, 1]', () => {
    assert.equal(regularizedIncompleteBeta(0, 2, 3), 0);
    assert.equal(regularizedIncompleteBeta(1, 2, 3), 1);
    close(regularizedIncompleteBeta(0.5, 1, 1), 0.5);
  });
});

describe('fitLine (reference: scipy.stats.linregress)', () => {
  it('slope, intercept and the 95% interval of the slope', () => {
    const fit = fitLine([0, 1, 2, 3, 4, 5], [10, 12.5, 13, 16.5, 18, 20.5]);
    close(fit.slope, 2.071428571428571);
    close(fit.slopeCi95![0], 1.6491783535490194);
    close(fit.slopeCi95![1], 2.493678789308123);
  });

  it('is stable with epoch-sized x values (shifted to the first point)', () => {
    const fit = fitLine([0, 1, 2, 3, 4].map((i) => 1.7e9 + i), [100, 101.5, 103.2, 104.1, 106.3]);
    close(fit.slope, 1.519999999999999);
    close(fit.slopeCi95![0], 1.2103581685221876, 1e-8);
    close(fit.slopeCi95![1], 1.8296418314778102, 1e-8);
  });

  it('has no interval with two points, and a zero slope when every x is the same', () => {
    assert.deepEqual(fitLine([0, 2], [1, 5]), { slope: 2, intercept: 1, slopeCi95: null });
    assert.deepEqual(fitLine([3, 3, 3], [1, 2, 3]), { slope: 0, intercept: 2, slopeCi95: null });
  });

  it('a perfect line has a zero-width interval', () => {
    const fit = fitLine([0, 1, 2, 3], [1, 3, 5, 7]);
    assert.deepEqual(fit.slopeCi95, [2, 2]);
    assert.equal(fit.intercept, 1);
  });

  it('rejects series of unequal or too short length', () => {
    assert.throws(() => fitLine([1], [1]), /at least 2 points, got 1 and 1/);
    assert.throws(() => fitLine([1, 2, 3], [1, 2]), /equally long/);
  });
});

describe('percentile (reference: numpy.percentile, linear)', () => {
  const data = [3.5, 1.25, 9.75, 4.0, 12.5, 7.0, 2.0, 8.25, 5.5, 6.0, 11.0].sort((a, b) => a - b);
  const table: [number, number][] = [[0.5, 6.0], [0.95, 11.75], [0.99, 12.350000000000001], [0, 1.25], [1, 12.5], [0.33, 4.45]];
  for (const [q, expected] of table) it(`q=${q} -> ${expected}`, () => close(percentile(data, q), expected, 1e-12));
  it('of one value is that value, and of none is an error', () => {
    assert.equal(percentile([7], 0.99), 7);
    assert.throws(() => percentile([], 0.5), /empty series/);
  });
});
