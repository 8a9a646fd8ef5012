// Colours with enough contrast (WCAG AA, 4.5:1) for text: the theme's tokens
// (Ant Design's defaults are lighter: a primary button's white text on
// #1677ff is 4.0:1, secondary text rgba(0,0,0,.45) is 3.5:1) and solid tag
// backgrounds, which carry white text (each ≥ 5.4:1).

export const THEME_TOKENS = {
  colorPrimary: '#0958d9',
  colorInfo: '#0958d9',
  colorSuccess: '#237804',
  colorWarning: '#ad4e00',
  colorError: '#cf1322',
  colorTextSecondary: 'rgba(0, 0, 0, 0.65)',
  colorTextTertiary: 'rgba(0, 0, 0, 0.6)',
  colorTextDescription: 'rgba(0, 0, 0, 0.65)',
  colorTextPlaceholder: 'rgba(0, 0, 0, 0.55)',
} as const;

/** Solid tag colours (white text on them). */
export const TAG = {
  green: '#237804',
  blue: '#0958d9',
  orange: '#ad4e00',
  red: '#a8071a',
  purple: '#531dab',
  cyan: '#006d75',
  grey: '#595959',
} as const;
