// The seeded generator the self-tests share: kill moments, generated expressions, fault schedules. Seeded so that a
// failing run can be replayed exactly. It is the library's own mulberry32 (a dependency-free leaf module), so the
// self-tests and the synthetic audio cannot come to disagree about what a seed means.
export { createPrng as seededRandom } from '../../src/synthetic-audio.js';
