/**
 * Asks the host whether to let someone waiting in the lobby in, with a notification (Admit /
 * Deny), as control requests are asked (control-asker.ts). No answer within the timeout is a no;
 * a click after that is told so rather than letting in someone who has already been turned away.
 */
import * as vscode from 'vscode';
import type { Knock } from '../../runner/host-runner';
import { lateAdmitText, lobbyKnockText } from './lobby-text';

export const ADMIT = 'Admit';
export const DENY_ENTRY = 'Deny';

export function askAdmitInEditor(knock: Knock, timeoutMs: number): Promise<{ admit: boolean; reason: 'allowed' | 'denied' | 'timeout' }> {
  return new Promise((resolve) => {
    let settled = false;
    const timer = setTimeout(() => {
      settled = true;
      resolve({ admit: false, reason: 'timeout' });
    }, timeoutMs);
    void vscode.window.showWarningMessage(lobbyKnockText(knock, Math.round(timeoutMs / 1000)), ADMIT, DENY_ENTRY).then((choice) => {
      if (settled) {
        if (choice === ADMIT) void vscode.window.showInformationMessage(lateAdmitText(knock));
        return;
      }
      settled = true;
      clearTimeout(timer);
      resolve(choice === ADMIT ? { admit: true, reason: 'allowed' } : { admit: false, reason: 'denied' });
    });
  });
}
