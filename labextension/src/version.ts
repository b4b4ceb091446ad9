/** The front end's version: package.json's and graphkit's (tests/test_live.py checks all three agree). */
export const version = '0.1.0';
