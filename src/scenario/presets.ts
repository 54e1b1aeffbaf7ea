// Named middlebox profiles: what real devices do to TCP. A scenario names one and may override
// any field.
import type { MiddleboxProfile } from './model.js';

const none = { strip: 'none' } as const;

function profile(
  name: string,
  p: Partial<Omit<MiddleboxProfile, 'name' | 'options'>> & { options?: Partial<MiddleboxProfile['options']> },
): MiddleboxProfile {
  return {
    name,
    isn: p.isn ?? { client: false, server: false },
    sackTranslation: p.sackTranslation ?? true,
    ...(p.fixedOffsets ? { fixedOffsets: p.fixedOffsets } : {}),
    options: {
      sackPermitted: p.options?.sackPermitted ?? { ...none },
      windowScale: p.options?.windowScale ?? { ...none },
      timestamps: p.options?.timestamps ?? { ...none },
    },
  };
}

export const PRESETS: Record<string, MiddleboxProfile> = {
  /** Forwards everything untouched: the control. */
  transparent: profile('transparent', {}),
  /** Cisco ASA/FTD default: random ISN both ways, SACK blocks left untranslated (the bug). */
  asa: profile('asa', { isn: { client: true, server: true }, sackTranslation: false }),
  /** The same firewall translating SACK edges correctly. */
  'asa-sack-translated': profile('asa-sack-translated', { isn: { client: true, server: true }, sackTranslation: true }),
  /** ISN randomization switched off (what Cisco's docs recommend when SACK matters). */
  'asa-no-randomization': profile('asa-no-randomization', {}),
  /** The ASA, plus a load balancer in front of the server that strips SACK-permitted from the SYN. */
  'asa+lb-strip-sack': profile('asa+lb-strip-sack', {
    isn: { client: true, server: true },
    sackTranslation: false,
    options: { sackPermitted: { strip: 'syn' } },
  }),
  /** The ASA, plus a load balancer that strips window scaling from the SYN (the incident's guess). */
  'asa+lb-strip-wscale': profile('asa+lb-strip-wscale', {
    isn: { client: true, server: true },
    sackTranslation: false,
    options: { windowScale: { strip: 'syn' } },
  }),
};

export const PRESET_NAMES = Object.keys(PRESETS);
