import { describe, expect, it } from 'vitest';
import { contrast, PANEL_BACKGROUND, readable } from './colour';

const parse = (css: string) => parseInt(css.slice(1), 16);

describe('readable role colours', () => {
  it('computes WCAG contrast ratios', () => {
    expect(contrast(0x000000, 0xffffff)).toBeCloseTo(21, 5);
    expect(contrast(0xffffff, 0xffffff)).toBeCloseTo(1, 5);
    // WCAG's own example: #777 on white is about 4.48.
    expect(contrast(0x777777, 0xffffff)).toBeCloseTo(4.48, 1);
  });

  it('keeps a colour that is already readable', () => {
    expect(readable(0xf1c40f, PANEL_BACKGROUND.dark, true)).toBe('#f1c40f');
    expect(readable(0x1f3f8b, PANEL_BACKGROUND.light, false)).toBe('#1f3f8b');
  });

  it('lightens dark colours on the dark theme and darkens light ones on the light theme', () => {
    for (const c of [0x1f8b4c, 0x000001, 0x992d22, 0x2c3e50]) {
      const shown = parse(readable(c, PANEL_BACKGROUND.dark, true));
      expect(contrast(shown, PANEL_BACKGROUND.dark)).toBeGreaterThanOrEqual(4.5);
    }
    for (const c of [0xf1c40f, 0xffffff, 0x99aab5, 0x1abc9c]) {
      const shown = parse(readable(c, PANEL_BACKGROUND.light, false));
      expect(contrast(shown, PANEL_BACKGROUND.light)).toBeGreaterThanOrEqual(4.5);
    }
  });
});
