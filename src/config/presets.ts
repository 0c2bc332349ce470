/**
 * Named sets of rl.* values (`rl.preset`, `sacbridge train --preset NAME`). A preset fills every
 * rl.* key that the file, environment and flags leave at its default; a key set explicitly wins.
 * Each lists only what its source states, with the source; config/README.md shows them.
 */

export type PresetName = 'paper' | 'cleanrl' | 'droq';

export interface Preset {
  source: string;
  /** rl.* keys (without the "rl." prefix) and their values. */
  values: Readonly<Record<string, unknown>>;
}

export const PRESETS: Readonly<Record<PresetName, Preset>> = {
  paper: {
    source:
      'Haarnoja et al. 2018, "Soft Actor-Critic Algorithms and Applications" (arXiv:1812.05905), Table 1: Adam 3e-4 for every network and the temperature, batch 256, 2x256 ReLU, gamma 0.99, tau 0.005, one target update and one gradient step per environment step, target entropy -|A|, replay 1e6. The actor steps with every critic step.',
    values: { lr: 3e-4, actorLr: 'auto', criticLr: 'auto', alphaLr: 'auto', batchSize: 256, hiddenSizes: [256, 256], gamma: 0.99, tau: 0.005, targetUpdateFrequency: 1, updatesPerStep: 1, policyFrequency: 1, targetEntropy: 'auto', bufferSize: 1_000_000 },
  },
  cleanrl: {
    source:
      "CleanRL's sac_continuous_action.py (Huang et al. 2022): policy_lr 3e-4, q_lr 1e-3 (critics and temperature), policy_frequency 2 (two actor steps every second update), target_network_frequency 1, tau 0.005, batch 256, learning_starts 5e3, gamma 0.99, autotune, PyTorch's default nn.Linear initialisation.",
    values: { actorLr: 3e-4, criticLr: 1e-3, alphaLr: 1e-3, policyFrequency: 2, policyCatchUp: true, targetUpdateFrequency: 1, tau: 0.005, batchSize: 256, learningStarts: 5000, gamma: 0.99, initialization: 'uniform-fan-in', updatesPerStep: 1 },
  },
  droq: {
    source:
      'Hiraoka et al. 2022, "Dropout Q-Functions for Doubly Efficient Reinforcement Learning" (ICLR): critics with dropout 0.01 and LayerNorm on every hidden layer, 20 gradient steps per environment step, one actor step per environment step, Adam 3e-4, batch 256, 2x256, tau 0.005, learned temperature, 5000 random steps (REDQ code).',
    values: { lr: 3e-4, actorLr: 'auto', criticLr: 'auto', alphaLr: 'auto', criticDropout: 0.01, criticLayerNorm: true, updatesPerStep: 20, policyFrequency: 20, policyCatchUp: false, targetUpdateFrequency: 1, tau: 0.005, batchSize: 256, hiddenSizes: [256, 256], learningStarts: 5000 },
  },
};

export const PRESET_NAMES = Object.keys(PRESETS) as PresetName[];
