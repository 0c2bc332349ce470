/** Gymnasium's MJCF directory, found as the sim tests find it. */
export { gymnasiumModelDir } from '../sim/simFixtures.js';
