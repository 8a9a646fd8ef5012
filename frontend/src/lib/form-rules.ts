// Form validation rules shared by several forms.

import type { Translate } from './i18n/i18n';

/** A required, well-formed e-mail address. */
export function emailRules(t: Translate) {
  return [
    { required: true, message: t('login.emailRequired') },
    { type: 'email' as const, message: t('login.emailInvalid') },
  ];
}
