/**
 * Asks the host about a control request with a notification (Allow / Deny). No answer within
 * the timeout is a deny, as in every PairUX host; a click that comes after that is told so
 * rather than silently granting a request the guest has already seen refused. The requester's
 * name and link are peer-supplied: literal text (literal-text.ts), with the client and a short id
 * beside the name, since names are not unique.
 */
import * as vscode from 'vscode';
import type { PromptAnswer, Requester } from '../../runner/host-runner';
import { controlRequestText, lateAllowText } from './literal-text';

export const ALLOW = 'Allow';
export const DENY = 'Deny';

export function askControlInEditor(name: string, timeoutMs: number, who?: Requester): Promise<PromptAnswer> {
  return new Promise((resolve) => {
    let settled = false;
    const timer = setTimeout(() => {
      settled = true;
      resolve({ allow: false, reason: 'timeout' });
    }, timeoutMs);
    const seconds = Math.round(timeoutMs / 1000);
    void vscode.window.showWarningMessage(controlRequestText(name, who, seconds), ALLOW, DENY).then((choice) => {
      if (settled) {
        if (choice === ALLOW) void vscode.window.showInformationMessage(lateAllowText(name, who));
        return;
      }
      settled = true;
      clearTimeout(timer);
      resolve(choice === ALLOW ? { allow: true, reason: 'allowed' } : { allow: false, reason: 'denied' });
    });
  });
}
