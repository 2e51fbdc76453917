// Colours chosen by people (role colours) made readable on the theme's background: WCAG 2.x
// contrast (https://www.w3.org/TR/WCAG22/#dfn-contrast-ratio), at least 4.5:1 for text
// (success criterion 1.4.3), reached by mixing the colour towards white on dark themes and
// towards black on light ones, keeping its hue as far as the contrast allows.
import { useSyncExternalStore } from 'react';

/** WCAG's minimum contrast of normal text (1.4.3, level AA). */
export const MIN_TEXT_CONTRAST = 4.5;

type Rgb = [number, number, number];

function rgb(hex: number): Rgb {
  return [(hex >> 16) & 0xff, (hex >> 8) & 0xff, hex & 0xff];
}

/** WCAG relative luminance of an sRGB colour (channels 0..255). */
export function luminance([r, g, b]: Rgb): number {
  const lin = (c: number) => {
    const s = c / 255;
    return s <= 0.04045 ? s / 12.92 : ((s + 0.055) / 1.055) ** 2.4;
  };
  return 0.2126 * lin(r) + 0.7152 * lin(g) + 0.0722 * lin(b);
}

/** WCAG contrast ratio of two colours given as 0xRRGGBB, 1..21. */
export function contrast(a: number, b: number): number {
  const [x, y] = [luminance(rgb(a)), luminance(rgb(b))];
  return (Math.max(x, y) + 0.05) / (Math.min(x, y) + 0.05);
}

/** `colour` (0xRRGGBB) as CSS, mixed towards white (`dark` background) or black until its
 *  contrast with `background` is at least `min`. */
export function readable(colour: number, background: number, dark: boolean, min = MIN_TEXT_CONTRAST): string {
  const target = dark ? 255 : 0;
  const [r, g, b] = rgb(colour);
  for (let step = 0; step <= 20; step++) {
    const f = step / 20;
    const mixed: Rgb = [r, g, b].map((c) => Math.round(c + (target - c) * f)) as Rgb;
    const value = (mixed[0] << 16) | (mixed[1] << 8) | mixed[2];
    if (contrast(value, background) >= min || step === 20) return `#${value.toString(16).padStart(6, '0')}`;
  }
  return dark ? '#ffffff' : '#000000';
}

const light = typeof matchMedia === 'function' ? matchMedia('(prefers-color-scheme: light)') : null;

/** Whether the page shows its dark theme (styles.css follows `prefers-color-scheme`), kept
 *  current when the system's preference changes. */
export function useDarkTheme(): boolean {
  return useSyncExternalStore(
    (changed) => {
      light?.addEventListener('change', changed);
      return () => light?.removeEventListener('change', changed);
    },
    () => !light?.matches,
  );
}

/** The background of the member list and profile popouts in each theme (styles.css `--bg2`). */
export const PANEL_BACKGROUND = { dark: 0x2b2d31, light: 0xf2f3f5 } as const;
