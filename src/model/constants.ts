/** Official decoding (protocol section 4). */
export const OFFICIAL_MAX_NEW_TOKENS = 256;
export const OFFICIAL_REPETITION_PENALTY = 1.05;
/** Every visual is 252 x 252 (protocol section 2). */
export const FRAME_SIZE = 252;
