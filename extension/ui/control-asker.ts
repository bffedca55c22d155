/**
 * Asks the host about a control request with a notification (Allow / Deny). No answer within
 * the timeout is a deny, as in every PairUX host; a click that comes after that is told so
 * rather than silently granting a request the guest has already seen refused.
 */
import * as vscode from 'vscode';
import type { PromptAnswer } from '../../runner/host-runner';

export const ALLOW = 'Allow';
export const DENY = 'Deny';

export function askControlInEditor(name: string, timeoutMs: number): Promise<PromptAnswer> {
  return new Promise((resolve) => {
    let settled = false;
    const timer = setTimeout(() => {
      settled = true;
      resolve({ allow: false, reason: 'timeout' });
    }, timeoutMs);
    const seconds = Math.round(timeoutMs / 1000);
    void vscode.window
      .showWarningMessage(`${name} asks to control your mouse and keyboard. (No answer in ${seconds} s means no.)`, ALLOW, DENY)
      .then((choice) => {
        if (settled) {
          if (choice === ALLOW) void vscode.window.showInformationMessage(`${name}'s request had already timed out; they can ask again.`);
          return;
        }
        settled = true;
        clearTimeout(timer);
        resolve(choice === ALLOW ? { allow: true, reason: 'allowed' } : { allow: false, reason: 'denied' });
      });
  });
}
